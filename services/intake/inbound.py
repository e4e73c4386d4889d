"""The fire-and-forget path: intake's durable pull consumer on the inbound stream, and its trimmer.

A plain nats-py pull loop, not a FastStream batch subscriber. FastStream 0.7's batch loop fetches
again until its batch is full or its timeout ends and catches only `nats.errors.TimeoutError`;
nats-py 2.16's fetch also raises the builtin `TimeoutError` when the time left is too short to send
another pull request. That escaped the loop, which dropped the messages it had gathered so far:
they stayed un-acked until the server redelivered them after ack_wait, 30 s later
(tests/intake/test_inbound.py saw it about once in ten runs). Here each fetch's messages are
handled as soon as the fetch returns, and every timeout, whichever class, is just an empty fetch.

The inbound stream keeps what was acked (limits retention: a removal per ack cost the path a
fifth of its throughput, streams.py), so every TRIM_EVERY_S the consumer purges it below the
durable consumer's ack floor: every message up to the floor is settled (its commit is in the event
log or its rejection in the rejected stream, its receipt published), and none above it is touched.
Every replica trims; the purges are idempotent. A work-queue stream (an older intake's) is not
trimmed (trim=False): its acks remove.

Permissions rendered before intake trimmed deny the purge; the stream then only grows until its cap.
Once it serves, intake probes the permission once (`trim_denied`, a purge that removes nothing) and
says what to do; while running, each failed trim is logged.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import nats.errors
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js import api
from nats.js.client import JetStreamContext

from ledger.natsconn import connect
from ledger.settings import Settings
from ledger.waits import cancel_and_wait, finish_within, wait_set

log = logging.getLogger("intake")
FETCH_WAIT_S = 0.2  # a lone message waits at most this long for others to share its batch
RETRY_S = 1.0
TRIM_EVERY_S = 5.0


PROBE_TIMEOUT_S = 3.0


async def trim_denied(settings: Settings) -> str | None:
    """Whether intake's identity is denied the purge that trims the inbound stream: what to do, or None.

    The probe purges below the stream's first sequence: a purge with `seq` removes only the sequences
    below it, so this one removes nothing, even if a trimmer moves the first sequence meanwhile. `seq`
    must be at least 1: the server reads a purge without it (and nats-py leaves out a 0) as "purge
    everything". A denied purge gets no reply, only an asynchronous permissions violation, so the probe
    uses a connection of its own to hear it; a purge that times out without one (a leader election in a
    cluster) is a plain timeout, raised.
    """
    errors: list[str] = []

    async def on_error(err: Exception) -> None:  # a denied publish is told here, not in its reply
        errors.append(str(err))

    stream = settings.subjects.inbound_stream
    nc = await connect(settings, name="intake-trim-probe", reconnect=False, error_cb=on_error)
    try:
        js = nc.jetstream(timeout=PROBE_TIMEOUT_S)
        info = await js.stream_info(stream)
        if info.config.retention == api.RetentionPolicy.WORK_QUEUE:  # an older intake's stream: acks remove
            return None
        try:
            await js.purge_stream(stream, seq=max(info.state.first_seq, 1))
        except TimeoutError as err:  # nats.errors.TimeoutError is one too
            denied = f"STREAM.PURGE.{stream}".lower()
            if any("permissions violation" in e.lower() and denied in e.lower() for e in errors):
                return (f"intake's identity may not purge its inbound stream {stream}, so the settled submissions "
                        "are never trimmed and the stream grows until its cap; the NATS permissions predate "
                        "trimming: render them again ('ledger provision auth DIR') and reload every nats-server")
            raise TimeoutError(f"the probe of intake's trim permission (a purge of {stream} that removes nothing) "
                               "got no answer") from err
        return None
    finally:
        await nc.close()


class InboundConsumer:
    """Fetches up to `batch` messages of `stream` for the durable consumer `durable` and hands each
    fetch to `drain`, which acks or naks every message itself. Up to `inflight` fetches are drained
    at once: the next batch is fetched while the one before is still being appended and answered
    (one at a time left the server idle while intake settled each batch, and intake idle while it
    fetched). `drain` keeps each project's messages in stream order, across batches drained at once
    and across naks (app.drain)."""

    def __init__(self, nc: NATS, stream: str, subject: str, durable: str,
                 drain: Callable[[list[Msg]], Awaitable[None]], *, batch: int = 256, trim: bool = True,
                 trim_every: float = TRIM_EVERY_S, inflight: int = 2) -> None:
        self.nc, self.stream, self.subject, self.durable = nc, stream, subject, durable
        self.drain, self.batch, self.trimming, self.trim_every = drain, batch, trim, trim_every
        self.inflight = inflight
        self._sub: JetStreamContext.PullSubscription | None = None
        self._task: asyncio.Task[None] | None = None
        self._trimmer: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self.trimmed_to = 1  # the stream holds nothing below this sequence (as far as this replica purged)

    async def start(self) -> None:
        """Bind to the durable consumer (created with the server's defaults if missing) and start."""
        self._sub = await self.nc.jetstream().pull_subscribe(self.subject, durable=self.durable,
                                                             stream=self.stream)
        self._task = asyncio.create_task(self._run(), name="inbound fetch loop")
        if self.trimming:
            self._trimmer = asyncio.create_task(self._trim_loop(), name="inbound trimmer")

    @property
    def tasks(self) -> list[asyncio.Task[None]]:
        """The fetch loop and the trimmer: both run until `stop`, so one that has ended before has failed."""
        return [t for t in (self._task, self._trimmer) if t is not None]

    async def stop(self, *, grace: float = 10.0) -> None:
        """Fetch no more; let the batches in hand settle (at most `grace` seconds), then unsubscribe.
        A batch cut short is not lost: its un-acked messages are redelivered after ack_wait."""
        self._stopping.set()
        if self._trimmer is not None:
            await cancel_and_wait([self._trimmer])
        if self._task is not None:
            await finish_within({self._task}, grace)
        if self._sub is not None:
            sub, self._sub = self._sub, None
            await sub.unsubscribe()

    async def trim(self) -> None:
        """Purge the stream below the durable consumer's ack floor (`trimmed_to`: the first sequence kept)."""
        js = self.nc.jetstream()
        info = await js.consumer_info(self.stream, self.durable)
        floor = info.ack_floor.stream_seq if info.ack_floor is not None else 0
        if floor >= self.trimmed_to:
            await js.purge_stream(self.stream, seq=floor + 1)  # removes every sequence below seq
            self.trimmed_to = floor + 1

    async def _trim_loop(self) -> None:
        while not await wait_set(self._stopping, self.trim_every):
            try:
                await self.trim()
            except Exception as err:  # next round will do; meanwhile the stream only grows (up to its cap)
                log.warning("trimming the inbound stream %s failed (%s); a denied purge times out: does intake's "
                            "identity have the current permissions ('ledger provision auth' renders them)?",
                            self.stream, err or type(err).__name__)

    async def _run(self) -> None:
        assert self._sub is not None
        draining: set[asyncio.Task[None]] = set()
        try:
            while not self._stopping.is_set():
                if len(draining) >= self.inflight:
                    await asyncio.wait(draining, return_when=asyncio.FIRST_COMPLETED)
                    continue
                try:
                    msgs = await self._sub.fetch(self.batch, timeout=FETCH_WAIT_S)
                except TimeoutError:  # nats.errors.TimeoutError is one too
                    continue
                except nats.errors.Error as err:  # a reconnect in progress, a leader election, …
                    log.warning("inbound fetch failed (%s); again in %.0fs", err or type(err).__name__, RETRY_S)
                    await wait_set(self._stopping, RETRY_S)
                    continue
                if msgs:
                    task = asyncio.create_task(self._settle(msgs), name="inbound batch")
                    draining.add(task)
                    task.add_done_callback(draining.discard)
            while draining:  # stopping: the batches in hand settle first (stop() bounds how long)
                await asyncio.wait(draining)
        except asyncio.CancelledError:  # stop()'s grace is over: the batches' un-acked messages come back
            await cancel_and_wait(list(draining))
            raise

    async def _settle(self, msgs: list[Msg]) -> None:
        try:
            await self.drain(msgs)
        except Exception:  # an ack or nak that could not be sent: the server redelivers after ack_wait
            log.exception("inbound batch of %d not settled; its un-acked messages come back after ack_wait",
                          len(msgs))
