"""The fast ordered reader of the whole log: an unfiltered ordered consumer feeding a buffer.

A `next_msg()` per message costs several event-loop turns (a timeout task, epoll), which on this
VM caps a reader near 9 k msgs/s, and a multi-subject filter makes the server deliver one message
per scan. Here the ordered push consumer has no filter (the stream holds only log subjects) and
delivers into a callback that decodes straight into a buffer; readers take whatever has arrived
in one go (~30 k commits/s here). EventLog.read() and the projector both read through it.
When the buffer is full the callback waits, so decoding pauses; nats-py answers flow control on
receipt, so undecoded messages can still queue in the client during a long rebuild (bounded by
the log's size; ~1 KB each) — acceptable for a rebuild, noted as a known limit.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js import api

from contracts.codec import decode_commit, sha256_hex
from contracts.envelope import Recorded
from ledger.logtime import ack_subject_time

if TYPE_CHECKING:
    from ledger.eventlog import EventLog


class LogReader:
    def __init__(self, log: EventLog, *, from_seq: int = 1, until_seq: int | None = None, follow: bool = False,
                 high_water: int = 20_000) -> None:
        self.log, self.from_seq, self.until_seq, self.follow = log, max(1, from_seq), until_seq, follow
        self.high_water = high_water
        self.buffer: list[Recorded] = []
        self.ready = asyncio.Event()
        self.space = asyncio.Event()
        self.space.set()
        self.stop: int | None = None
        self.finished = False
        self.sub: Subscription | None = None

    async def start(self) -> None:
        self.stop = self.until_seq if self.until_seq is not None else (
            None if self.follow else await self.log.last_seq())
        if self.stop is not None and self.stop < self.from_seq:
            self.finished = True
            self.ready.set()
            return
        subjects = self.log.subjects
        # No subject filter: the stream holds only the log subjects, and a multi-subject filter
        # makes the server deliver one message per scan (~10 k/s here instead of >100 k/s).
        config = api.ConsumerConfig(
                                    deliver_policy=api.DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=self.from_seq)
        self.sub = await self.log.js.subscribe("", stream=subjects.events_stream,
                                               ordered_consumer=True, config=config, cb=self._on,
                                               pending_msgs_limit=-1, pending_bytes_limit=-1)

    async def _on(self, msg: Msg) -> None:
        if self.finished:
            return
        seq = msg.metadata.sequence.stream
        if self.stop is not None and seq > self.stop:
            return
        self.buffer.append(Recorded(seq=seq, subject=msg.subject, recorded_at=ack_subject_time(msg.reply or ""),
                                    hash=sha256_hex(msg.data), commit=decode_commit(msg.data)))
        if self.stop is not None and seq >= self.stop:
            self.finished = True
        self.ready.set()
        if len(self.buffer) >= self.high_water:
            self.space.clear()
            await self.space.wait()

    async def take(self, most: int) -> list[Recorded]:
        """Up to `most` records in order, waiting for at least one; [] once the reader is finished."""
        while not self.buffer:
            if self.finished:
                return []
            self.ready.clear()
            await self.ready.wait()
        out, self.buffer = self.buffer[:most], self.buffer[most:]
        self.space.set()
        return out

    async def close(self) -> None:
        self.finished = True
        self.space.set()
        if self.sub is not None:
            await self.sub.unsubscribe()
