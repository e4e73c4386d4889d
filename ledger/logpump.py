"""A rebuild's log reader in its own process: nats-py's per-message work on the other core.

Reading the log costs ~30 µs of Python per message in nats-py (protocol parse, headers, Msg,
callback) — about as much as folding and writing it. A rebuild knows where it stops, so
`PumpReader` runs the ordered consumer in a child process (`python -m ledger.logpump`) that
does only that, plus the hash and the recorded time, and hands the parent raw commits in
msgpack frames over a pipe; the parent decodes, folds and writes. Same interface as LogReader
(start / take / close), for bounded reads only (no follow mode: the live projector stays in
process for its latency).

The child connects as the parent's connection does (URL, user/password or token, inbox prefix),
passed in its environment, never on the command line. Frames: 4-byte big-endian length, then
a msgpack array of [seq, recorded_at unix nanos, subject, sha256 hex, body]. The pipe is the
back-pressure: when the parent is busy the child's (blocking) write waits, and the socket and
nats-py's buffer hold what the server already sent (as LogReader's does).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import struct
import sys
from typing import TYPE_CHECKING

import msgspec
import nats
from nats.aio.msg import Msg
from nats.js import api

from contracts.codec import decode_commit
from contracts.envelope import Recorded
from ledger.logtime import ack_fields, from_unix_nanos

if TYPE_CHECKING:
    from ledger.eventlog import EventLog

_LEN = struct.Struct(">I")
Frame = list[tuple[int, int, str, str, bytes]]
_frame_decoder = msgspec.msgpack.Decoder(Frame)
_ENV = ("LEDGER_PUMP_URL", "LEDGER_PUMP_USER", "LEDGER_PUMP_PASSWORD", "LEDGER_PUMP_TOKEN",
        "LEDGER_PUMP_INBOX_PREFIX")


class PumpError(RuntimeError):
    """The reader process failed; its stderr says why."""


def connection_env(log: EventLog) -> dict[str, str]:
    """How the child reaches the server as the parent does (values only ever in the environment)."""
    nc = log.nc
    url = nc.connected_url.geturl() if nc.connected_url is not None else "nats://127.0.0.1:4222"
    prefix = bytes(getattr(nc, "_inbox_prefix", b"_INBOX")).decode()
    values = {"LEDGER_PUMP_URL": url, "LEDGER_PUMP_USER": nc.options.get("user"),
              "LEDGER_PUMP_PASSWORD": nc.options.get("password"), "LEDGER_PUMP_TOKEN": nc.options.get("token"),
              "LEDGER_PUMP_INBOX_PREFIX": prefix}
    return {k: str(v) for k, v in values.items() if v is not None}


class PumpReader:
    def __init__(self, log: EventLog, *, from_seq: int = 1, until_seq: int | None = None,
                 frame_size: int = 2000) -> None:
        self.log, self.from_seq, self.until_seq, self.frame_size = log, max(1, from_seq), until_seq, frame_size
        self.proc: asyncio.subprocess.Process | None = None
        self.buffer: list[Recorded] = []
        self.finished = False
        self.stop = 0

    async def start(self) -> None:
        self.stop = self.until_seq if self.until_seq is not None else await self.log.last_seq()
        if self.stop < self.from_seq:
            self.finished = True
            return
        env = {k: v for k, v in os.environ.items() if k not in _ENV} | connection_env(self.log)
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "ledger.logpump", self.log.subjects.events_stream, str(self.from_seq),
            str(self.stop), str(self.frame_size), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            env=env)

    async def _frame(self) -> Frame | None:
        assert self.proc is not None and self.proc.stdout is not None
        try:
            size = _LEN.unpack(await self.proc.stdout.readexactly(4))[0]
            return _frame_decoder.decode(await self.proc.stdout.readexactly(size))
        except asyncio.IncompleteReadError:
            return None

    async def take(self, most: int) -> list[Recorded]:
        """Up to `most` records in order; [] once everything up to the stop sequence was handed out."""
        while not self.buffer and not self.finished:
            frame = await self._frame()
            if frame is None:
                await self._failed()
            else:
                self.buffer = [Recorded(seq=seq, subject=subject, recorded_at=from_unix_nanos(nanos), hash=digest,
                                        commit=decode_commit(body)) for seq, nanos, subject, digest, body in frame]
                self.finished = bool(self.buffer) and self.buffer[-1].seq >= self.stop
        out, self.buffer = self.buffer[:most], self.buffer[most:]
        return out

    async def _failed(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        why = (await self.proc.stderr.read()).decode(errors="replace").strip()
        code = await self.proc.wait()
        raise PumpError(f"the log reader process ended early (exit {code}): {why or 'no message'}")

    async def close(self) -> None:
        self.finished = True
        if self.proc is not None and self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()
            await self.proc.wait()


async def pump(stream: str, from_seq: int, until_seq: int, frame_size: int) -> None:
    """The child: ordered consumer from `from_seq`, frames to stdout, exit after `until_seq`."""
    env = os.environ
    nc = await nats.connect(env.get("LEDGER_PUMP_URL", "nats://127.0.0.1:4222"), user=env.get("LEDGER_PUMP_USER"),
                            password=env.get("LEDGER_PUMP_PASSWORD"), token=env.get("LEDGER_PUMP_TOKEN"),
                            inbox_prefix=env.get("LEDGER_PUMP_INBOX_PREFIX", "_INBOX"), name="ledger-logpump",
                            allow_reconnect=False, max_reconnect_attempts=0)
    out = sys.stdout.buffer
    encoder = msgspec.msgpack.Encoder()
    pending: Frame = []
    done = asyncio.Event()

    def flush() -> None:  # blocking: a full pipe stops this process, which is the back-pressure
        body = encoder.encode(pending)
        pending.clear()
        out.write(_LEN.pack(len(body)) + body)
        out.flush()

    async def on(msg: Msg) -> None:
        if done.is_set():
            return
        seq, nanos, behind = ack_fields(msg.reply)
        if seq < from_seq or seq > until_seq:
            return
        pending.append((seq, nanos, msg.subject, hashlib.sha256(msg.data).hexdigest(), msg.data))
        if seq >= until_seq:
            flush()
            done.set()
        elif len(pending) >= frame_size or behind == 0:
            flush()

    # No subject filter (see LogReader: the stream holds only log subjects; a filter is ~10× slower).
    config = api.ConsumerConfig(deliver_policy=api.DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=from_seq)
    sub = await nc.jetstream().subscribe("", stream=stream, ordered_consumer=True, config=config, cb=on,
                                         pending_msgs_limit=-1, pending_bytes_limit=-1)
    await done.wait()
    await sub.unsubscribe()
    await nc.close()


def main() -> None:
    stream, from_seq, until_seq, frame_size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    try:
        asyncio.run(pump(stream, from_seq, until_seq, frame_size))
    except BrokenPipeError:  # the parent went away
        sys.exit(1)


if __name__ == "__main__":
    main()
