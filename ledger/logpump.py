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

A lost connection ends the rebuild with an error, never a hang: the child does not reconnect (a
resumed ordered consumer would have to be checked for gaps; a rebuild is simply run again), it
exits with the reason as soon as its connection closes, and the parent gives up on a child that
has sent nothing for `stall_timeout` seconds while it waited (a connection that went silent
without closing, which nats-py would notice only after minutes of unanswered pings).
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
from nats.errors import Error as NatsError
from nats.js import api

from contracts.codec import decode_commit
from contracts.envelope import Recorded
from ledger.logtime import ack_fields, from_unix_nanos
from ledger.settings import redact

if TYPE_CHECKING:
    from ledger.eventlog import EventLog

_LEN = struct.Struct(">I")
Frame = list[tuple[int, int, str, str, bytes]]
_frame_decoder = msgspec.msgpack.Decoder(Frame)
_ENV = ("LEDGER_PUMP_URL", "LEDGER_PUMP_USER", "LEDGER_PUMP_PASSWORD", "LEDGER_PUMP_TOKEN",
        "LEDGER_PUMP_INBOX_PREFIX")


STALL_TIMEOUT = 60.0  # seconds without a frame while the parent waits: far beyond a healthy reader's pauses
LOST_EXIT = 3  # the child's exit status when its connection to NATS closed before the stop sequence


class PumpError(RuntimeError):
    """The reader process failed (its stderr says why) or stopped sending."""


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
                 frame_size: int = 2000, stall_timeout: float = STALL_TIMEOUT) -> None:
        self.log, self.from_seq, self.until_seq, self.frame_size = log, max(1, from_seq), until_seq, frame_size
        self.stall_timeout = stall_timeout
        self.proc: asyncio.subprocess.Process | None = None
        self.buffer: list[Recorded] = []
        self.finished = False
        self.stop = 0
        self.next_seq = self.from_seq  # the first sequence not yet received from the child

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
        stdout = self.proc.stdout
        try:
            async with asyncio.timeout(self.stall_timeout):
                size = _LEN.unpack(await stdout.readexactly(4))[0]
                return _frame_decoder.decode(await stdout.readexactly(size))
        except asyncio.IncompleteReadError:
            return None
        except TimeoutError:
            await self.close()
            raise PumpError(f"the log reader process sent nothing for {self.stall_timeout:g}s while sequence "
                            f"{self.next_seq} of {self.stop} was awaited (NATS unreachable or stalled?); "
                            "stopped it") from None

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
                if self.buffer:
                    self.next_seq = self.buffer[-1].seq + 1
        out, self.buffer = self.buffer[:most], self.buffer[most:]
        return out

    async def _failed(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        try:  # its stdout closed: it is exiting (or closed it and hangs: then it is stopped)
            async with asyncio.timeout(5):
                why = (await self.proc.stderr.read()).decode(errors="replace").strip()
                code: int | str = await self.proc.wait()
        except TimeoutError:
            why, code = "", "none: it closed its output and was stopped"
        await self.close()
        raise PumpError(f"the log reader process ended early (exit {code}) before sequence {self.next_seq} of "
                        f"{self.stop}: {why or 'no message'}")

    async def close(self) -> None:
        self.finished = True
        if self.proc is not None and self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()
            await self.proc.wait()


class LostConnection(Exception):
    """The child's connection to NATS closed before the stop sequence."""


async def pump(stream: str, from_seq: int, until_seq: int, frame_size: int) -> None:
    """The child: ordered consumer from `from_seq`, frames to stdout, exit after `until_seq`."""
    env = os.environ
    url = env.get("LEDGER_PUMP_URL", "nats://127.0.0.1:4222")
    done = asyncio.Event()  # everything up to until_seq was written
    over = asyncio.Event()  # done, the connection closed, or the parent went away
    orphaned = False
    errors: list[str] = []
    last = from_seq - 1

    async def on_error(err: Exception) -> None:  # kept for the message (nats-py would log a traceback)
        errors[:] = [*errors[-4:], str(err) or type(err).__name__]

    async def on_closed() -> None:
        over.set()

    nc = await nats.connect(url, user=env.get("LEDGER_PUMP_USER"), password=env.get("LEDGER_PUMP_PASSWORD"),
                            token=env.get("LEDGER_PUMP_TOKEN"), name="ledger-logpump",
                            inbox_prefix=env.get("LEDGER_PUMP_INBOX_PREFIX", "_INBOX"),
                            allow_reconnect=False, max_reconnect_attempts=0, error_cb=on_error, closed_cb=on_closed)
    out = sys.stdout.buffer
    encoder = msgspec.msgpack.Encoder()
    pending: Frame = []

    def flush() -> None:  # blocking: a full pipe stops this process, which is the back-pressure
        body = encoder.encode(pending)
        pending.clear()
        out.write(_LEN.pack(len(body)) + body)
        out.flush()

    async def on(msg: Msg) -> None:
        nonlocal last, orphaned
        if over.is_set():
            return
        seq, nanos, behind = ack_fields(msg.reply)
        if seq < from_seq or seq > until_seq:
            return
        pending.append((seq, nanos, msg.subject, hashlib.sha256(msg.data).hexdigest(), msg.data))
        last = seq
        try:  # (an exception here would only reach nats-py's error callback, and the reading would go on)
            if seq >= until_seq:
                flush()
                done.set()
            elif len(pending) >= frame_size or behind == 0:
                flush()
        except BrokenPipeError:
            orphaned = True
        if done.is_set() or orphaned:
            over.set()

    # No subject filter (see LogReader: the stream holds only log subjects; a filter is ~10× slower).
    config = api.ConsumerConfig(deliver_policy=api.DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=from_seq)
    sub = await nc.jetstream().subscribe("", stream=stream, ordered_consumer=True, config=config, cb=on,
                                         pending_msgs_limit=-1, pending_bytes_limit=-1)
    await over.wait()
    if orphaned:
        raise BrokenPipeError("the parent went away")
    if not done.is_set():
        why = "; ".join(dict.fromkeys(errors)) or "closed"
        raise LostConnection(f"lost its connection to NATS at {redact(url)} after sequence {last} of {until_seq} "
                             f"({why})")
    with contextlib.suppress(NatsError):  # everything was written: a connection closing now changes nothing
        await sub.unsubscribe()
    await nc.close()


def main() -> None:
    stream, from_seq, until_seq, frame_size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    try:
        asyncio.run(pump(stream, from_seq, until_seq, frame_size))
    except BrokenPipeError:  # the parent went away
        sys.exit(1)
    except LostConnection as err:
        print(err, file=sys.stderr, flush=True)
        sys.exit(LOST_EXIT)
    except (OSError, TimeoutError, NatsError) as err:  # could not connect or subscribe
        print(f"cannot read the log from NATS ({type(err).__name__}: {err})", file=sys.stderr, flush=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
