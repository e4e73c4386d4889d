"""Reading the whole log in global order with bounded memory: pages while behind, push at the tail.

A push consumer sends as fast as the server can; nats-py queues whatever arrives for a callback
without bound (its flow-control reply follows delivery into that queue), so a reader that falls
behind — a projector catching up on a million events after a restart — held ~130 000 raw
messages (~300 MB) in the client. Here the reader pulls pages instead: batched direct gets of up
to `page` messages from the next sequence (one request, bounded by design). Only when a page
comes back empty in follow mode, i.e. at the tail, does it switch to an ordered push consumer
for latency; if the consumer of that stream then falls `tail_backlog` records behind, the
reader unsubscribes and goes back to pages. Memory stays near one page plus the backlog.

Rebuilds read through ledger.logpump instead (a child process; the hand-over pipe bounds it).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js import api

from contracts.codec import decode_commit, sha256_hex
from contracts.envelope import Recorded
from ledger.logtime import ack_fields, from_unix_nanos

if TYPE_CHECKING:
    from ledger.eventlog import EventLog

_LAGGING_RETRIES = 200  # ~10 s: a replica behind the leader answered a page short of the stop


class LogReader:
    def __init__(self, log: EventLog, *, from_seq: int = 1, until_seq: int | None = None, follow: bool = False,
                 page: int = 1000, tail_backlog: int = 2000) -> None:
        self.log, self.until_seq, self.follow = log, until_seq, follow
        self.page, self.tail_backlog = page, tail_backlog
        self.next_seq = max(1, from_seq)
        self.buffer: list[Recorded] = []
        self.stop: int | None = None
        self.finished = False
        self.sub: Subscription | None = None
        self.behind = False  # the push consumer fell behind: back to pages
        self.pushing = False
        self.ready = asyncio.Event()
        self.pages = 0
        self._full = False  # the last page came back full: more may follow at once
        self.subscriptions = 0

    async def start(self) -> None:
        self.stop = self.until_seq if self.until_seq is not None else (
            None if self.follow else await self.log.last_seq())
        if self.stop is not None and self.stop < self.next_seq:
            self.finished = True

    async def take(self, most: int) -> list[Recorded]:
        """Up to `most` records in order, waiting for at least one; [] once the reader is finished."""
        lagging = 0
        while not self.buffer:
            if self.finished or self._at_stop():
                self.finished = True
                return []
            if self.sub is not None:  # following by push
                if self.behind:
                    await self._unsubscribe()
                else:
                    self.ready.clear()
                    await self.ready.wait()
                continue
            page = await self._page()
            if page:
                self._extend(page)
            elif self.follow:
                await self._subscribe()  # at the tail: follow by push
            else:  # a replica that has not applied the newest commits answered the page: ask again
                lagging += 1
                if lagging > _LAGGING_RETRIES:
                    raise RuntimeError(f"the log ends at {self.next_seq - 1} on this replica, expected {self.stop}")
                await asyncio.sleep(0.05)
        while self.sub is None and self._full and len(self.buffer) < most and not self._at_stop():
            self._extend(await self._page())  # behind: fill the caller's batch with further pages
        out, self.buffer = self.buffer[:most], self.buffer[most:]
        return out

    def _at_stop(self) -> bool:
        return self.stop is not None and self.next_seq > self.stop

    def _extend(self, records: list[Recorded]) -> None:
        if self.stop is not None:
            records = [r for r in records if r.seq <= self.stop]
        self.buffer.extend(records)
        if records:
            self.next_seq = records[-1].seq + 1

    async def _page(self) -> list[Recorded]:
        size = self.page if self.stop is None else max(0, min(self.page, self.stop - self.next_seq + 1))
        if size == 0:
            return []
        self.pages += 1
        page = await self.log.read_page(self.next_seq, size)
        self._full = len(page) >= size
        return page

    async def _subscribe(self) -> None:
        # No subject filter: the stream holds only log subjects, and a multi-subject filter makes
        # the server deliver one message per scan.
        config = api.ConsumerConfig(deliver_policy=api.DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=self.next_seq)
        self.behind = False
        self.pushing = True  # messages may arrive before subscribe() returns
        self.subscriptions += 1
        self.sub = await self.log.js.subscribe("", stream=self.log.subjects.events_stream, ordered_consumer=True,
                                               config=config, cb=self._on, pending_msgs_limit=-1,
                                               pending_bytes_limit=-1)

    async def _unsubscribe(self) -> None:
        sub, self.sub = self.sub, None
        self.behind = self.pushing = False
        if sub is not None:
            await sub.unsubscribe()

    async def _on(self, msg: Msg) -> None:
        if self.behind or not self.pushing or not msg.reply:
            return
        seq, nanos, _ = ack_fields(msg.reply)
        if seq < self.next_seq:
            return  # already had it (a consumer reset)
        if seq > self.next_seq or (self.stop is not None and seq > self.stop):
            self.behind = True  # never skip: re-read from next_seq with pages
            self.ready.set()
            return
        self.buffer.append(Recorded(seq=seq, subject=msg.subject, recorded_at=from_unix_nanos(nanos),
                                    hash=sha256_hex(msg.data), commit=decode_commit(msg.data)))
        self.next_seq = seq + 1
        if len(self.buffer) >= self.tail_backlog or (self.stop is not None and seq >= self.stop):
            self.behind = True  # the consumer is slower than the log: pages again (bounded memory)
        self.ready.set()

    async def close(self) -> None:
        self.finished = True
        self.ready.set()
        await self._unsubscribe()
