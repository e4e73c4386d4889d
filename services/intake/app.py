"""Composition root: connections, streams, the key index and the two ways in.

- request/reply on `<prefix>.intake.*.submit` (core NATS, `request_workers` concurrent handlers;
  a plain nats-py subscription, requests.py says why); the source id is the subject's third
  token, which the server's permissions enforce;
- fire-and-forget: durable pull consumer `intake` on the inbound stream (inbound.py, which trims it), batches
  with manual acks — a message is acked only after its receipt is published, and nak'd with a
  delay after a transient outcome (or while an earlier message of its project is, ProjectOrder), so
  nothing is lost while intake or stages is down; two batches are drained at once, each project's
  messages still in stream order (drain).
Nothing connects at import time; `running()` is the lifespan.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field

import asyncpg
import nats.errors
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js import api

from contracts.codec import encode
from contracts.commands import Submission
from contracts.receipts import Rejected
from ledger.clock import Clock, SystemClock
from ledger.eventlog import EventLog
from ledger.keyed_lock import KeyedLock
from ledger.natsconn import confirm_subscriptions, connect
from ledger.pg import keep_session
from ledger.settings import Settings
from ledger.waits import cancel_and_wait, until_set_or_ended, within
from services.intake import streams
from services.intake.appender import GroupAppender
from services.intake.handlers import Ports, answer, settle
from services.intake.inbound import TRIM_EVERY_S, InboundConsumer, trim_denied
from services.intake.index import PG_SETTINGS, Indexer, KeyIndex
from services.intake.requests import RequestServer
from services.intake.sinks import SUBJECT_HEADER, ReceiptStream, RejectedStream, StagesClient
from services.intake.validate import parse

DURABLE = "intake"
logger = logging.getLogger("intake")
NAK_DELAY_S = 2.0
ORDER_HOLD_S = 30.0
"""Longest a project's later messages wait for its nak'd one (ProjectOrder)."""


@dataclass(frozen=True)
class IntakeConfig:
    settings: Settings
    allowed: Mapping[str, tuple[str, ...]]
    schema: str = "intake"
    clock: Clock = field(default_factory=SystemClock)
    stages_timeout: float = 5.0
    request_workers: int = 256
    inbound_batch: int = 256
    inbound_inflight: int = 2
    """Inbound batches drained at once (inbound.py)."""
    inbound_trim_every: float = TRIM_EVERY_S
    """Seconds between purges of the settled part of the inbound stream (inbound.py)."""
    append_batches: int = 2
    """Atomic append batches in flight at once (appender.py)."""
    start_timeout: float = 30.0


@dataclass(frozen=True)
class Running:
    ports: Ports
    indexer: Indexer
    inbound: InboundConsumer
    requests: RequestServer
    background: tuple[asyncio.Task[None], ...]
    """Tasks that run as long as intake does (the key index's follower and sampler, the inbound loop and
    trimmer); each handles its expected failures itself and ends only when intake stops."""

    async def serve(self, stop: asyncio.Event) -> str | None:
        """Until `stop` is set (returns None) or a background task ends first — something none of them
        expected (they retry what they expect), after which intake no longer does all its work: returns
        its name and why."""
        return await until_set_or_ended(stop, self.background)


def request_server(nc: NATS, config: IntakeConfig, ports: Ports, rejected: RejectedStream) -> RequestServer:
    async def on_submit(msg: Msg) -> bytes:
        subject = msg.subject
        receipt = await answer(msg.data, subject.split(".")[-2], ports, rejected, {SUBJECT_HEADER: subject})
        return encode(receipt)

    # one replica answers each request (queue group)
    return RequestServer(nc, config.settings.subjects.submit("*"), DURABLE, on_submit,
                         max_inflight=config.request_workers)


class ProjectOrder:
    """Keeps each project's fire-and-forget messages in stream order across naks. A nak'd message comes
    back NAK_DELAY_S later, after the fetches that follow: had its project's later messages been handled
    meanwhile, stages would judge them before it (a PassStage before its OpenStage: refused for good). So
    once a message is nak'd, its project's later messages are nak'd unprocessed until it settles, or for
    at most `hold` seconds after this replica last saw it: with several replicas, its redelivery may go
    to another one."""

    def __init__(self, *, hold: float = ORDER_HOLD_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.hold, self.clock = hold, clock
        self._first: dict[str, tuple[int, float]] = {}
        """project → (stream sequence of its first unsettled message, monotonic time the hold ends)"""

    def expire(self) -> None:
        now = self.clock()
        self._first = {project: first for project, first in self._first.items() if first[1] > now}

    def waits(self, project: str, seq: int) -> bool:
        """Whether message `seq` of `project` must wait for an earlier one of it, still unsettled."""
        first = self._first.get(project)
        return first is not None and seq > first[0]

    def outcome(self, project: str, seq: int, settled: bool) -> None:
        first = self._first.get(project)
        if not settled and (first is None or seq <= first[0]):
            self._first[project] = (seq, self.clock() + self.hold)
        elif settled and first is not None and first[0] == seq:
            del self._first[project]


async def drain(batch: list[Msg], ports: Ports, rejected: RejectedStream, receipts: ReceiptStream,
                order: ProjectOrder, turns: KeyedLock) -> None:
    """One batch: projects in parallel, each project's messages in stream order (parsed once), none while
    an earlier one of its project is unsettled (ProjectOrder). `turns` keeps the order across the batches
    drained at once (the inbound consumer fetches the next batch while the one before settles): a project's
    messages in a later batch wait for its messages in the earlier ones (KeyedLock grants a key's turns in
    the order they were asked for, and every batch asks for all its projects before it first waits).
    Returns only once every message of the batch is acked or nak'd, or its ack or nak has failed (the
    server then redelivers it after ack_wait)."""
    order.expire()
    groups: dict[str | int, list[tuple[int, Msg, Submission | Rejected | None]]] = {}
    for i, m in enumerate(batch):
        seq = m.metadata.sequence.stream
        try:
            parsed: Submission | Rejected | None = parse(m.data, max_bytes=ports.max_bytes)
        except Exception as err:
            # Defence in depth: a parse that raises must not leave its whole batch unsettled, redelivered
            # for ever. With parsed=None, settle() parses again inside process(), which turns the failure
            # into an internal_error receipt and rejection like any unexpected one.
            logger.warning("inbound message %s: parse raised %r; it is settled on its own", seq, err)
            parsed = None
        project = parsed.project_id if parsed is not None else None
        groups.setdefault(project or i, []).append((seq, m, parsed))  # no project: a group of its own

    async def one_project(project: str | None, msgs: list[tuple[int, Msg, Submission | Rejected | None]]) -> None:
        async with turns(project) if project is not None else contextlib.nullcontext():
            for seq, m, parsed in sorted(msgs, key=lambda t: t[0]):  # redeliveries may come in any order
                if project is not None and order.waits(project, seq):
                    await _answer(m, False)
                    continue
                source = m.subject.rsplit(".", 1)[-1]
                try:
                    done = await settle(m.data, source, ports, rejected, receipts, {SUBJECT_HEADER: m.subject},
                                        parsed)
                except Exception:
                    done = False
                if project is not None:
                    order.outcome(project, seq, done)
                await _answer(m, done)

    outcomes = await asyncio.gather(*(one_project(key if isinstance(key, str) else None, msgs)
                                      for key, msgs in groups.items()), return_exceptions=True)
    for failed in (o for o in outcomes if isinstance(o, Exception)):  # none expected: one_project catches
        logger.error("inbound batch: a project's messages failed (%r); they come back after ack_wait", failed)


async def _answer(m: Msg, settled: bool) -> None:
    """Ack a settled message, nak (with a delay) one that is not. One that cannot be sent (the connection
    is closing or reconnecting) is logged and left to ack_wait: its outcome is already recorded, and a
    redelivery of an accepted submission is answered as a duplicate, not judged again."""
    try:
        await (m.ack() if settled else m.nak(delay=NAK_DELAY_S))
    except Exception as err:
        logger.warning("inbound message %s: %s not sent (%r); it comes back after ack_wait",
                       m.metadata.sequence.stream, "ack" if settled else "nak", err)


@contextlib.asynccontextmanager
async def running(config: IntakeConfig) -> AsyncIterator[Running]:
    """Start intake; on exit stop consuming first, then close the connections."""
    settings, subjects = config.settings, config.settings.subjects
    if settings.database_url is None:
        raise ValueError("Config 'LEDGER_DATABASE_URL' is not set; intake keeps its key index in Postgres")
    nc = await connect(settings, name="intake")
    # keep_session (ledger.pg): our statements leave no session state, so the default reset on every
    # release is a wasted round trip per query (it showed as a fifth of intake's CPU under load).
    # PG_SETTINGS (index.py says why): no fsync for the derived key index; a plan per look-up.
    pool = await asyncpg.create_pool(settings.database_url, min_size=2, max_size=8, reset=keep_session,
                                     server_settings=PG_SETTINGS)
    tasks: list[asyncio.Task[None]] = []
    probe: asyncio.Task[None] | None = None
    inbound: InboundConsumer | None = None
    requests: RequestServer | None = None
    group: GroupAppender | None = None
    try:
        held = await streams.provision(nc.jetstream(), subjects)
        index = KeyIndex(pool, config.schema)
        await index.setup()
        log = EventLog(nc, subjects)
        indexer = Indexer(log, index)
        tasks = [asyncio.create_task(indexer.follow(), name="key index follower"),
                 asyncio.create_task(indexer.sample(), name="key index sampler")]
        await _until_fresh(indexer, tasks, config.start_timeout)
        group = GroupAppender(log, max_inflight=config.append_batches)
        ports = Ports(log=log, keys=index, freshness=indexer, clock=config.clock, allowed=config.allowed,
                      stages=StagesClient(nc, subjects, timeout=config.stages_timeout), appends=group)
        rejected, receipts = RejectedStream(nc, subjects), ReceiptStream(nc, subjects)
        inbound = InboundConsumer(nc, subjects.inbound_stream, f"{subjects.prefix}.inbound.*", DURABLE,
                                  functools.partial(drain, ports=ports, rejected=rejected, receipts=receipts,
                                                    order=ProjectOrder(), turns=KeyedLock()),
                                  batch=config.inbound_batch, trim_every=config.inbound_trim_every,
                                  inflight=config.inbound_inflight,
                                  trim=held[subjects.inbound_stream].retention != api.RetentionPolicy.WORK_QUEUE)
        await inbound.start()
        requests = request_server(nc, config, ports, rejected)
        await requests.start()
        # Ready only once the server holds every subscription (a flush is not: see confirm_subscriptions)
        await confirm_subscriptions(nc)
        probe = asyncio.create_task(_probe_trim(settings), name="inbound trim probe")
        yield Running(ports=ports, indexer=indexer, inbound=inbound, requests=requests,
                      background=(*tasks, *inbound.tasks))
    finally:
        if probe is not None:
            await cancel_and_wait([probe])
        if requests is not None:
            await requests.stop()
        if inbound is not None:
            await inbound.stop()
        if group is not None:  # after both ways in have stopped: their last appends are counted
            logger.info("group commit: %s commits in %s atomic batches, %s batches refused and appended one by one",
                        group.batched, group.batches, group.fallbacks)
        await cancel_and_wait(tasks)
        try:  # close() waits for every connection to come back: a look-up still in flight gets 10 s
            await within(pool.close(), 10.0)
        except TimeoutError:
            pool.terminate()
        await nc.drain()


async def _probe_trim(settings: Settings) -> None:
    """Say what to do when intake may not trim its inbound stream. Advice only, so it runs once intake
    serves: a denied purge is known only when its request times out (PROBE_TIMEOUT_S), and waiting for
    that delayed every start with such permissions although nothing is lost (the stream only grows)."""
    try:
        if problem := await trim_denied(settings):
            logger.error("%s", problem)
    except (TimeoutError, nats.errors.Error, OSError) as err:
        logger.warning("could not probe intake's permission to trim its inbound stream (%s); the trimmer "
                       "reports a denied purge as it runs", err or type(err).__name__)


async def _until_fresh(indexer: Indexer, tasks: list[asyncio.Task[None]], seconds: float) -> None:
    """Ready once the key index has caught up with the log. A first start on a long log takes as long
    as indexing takes (progress is logged); only a follower that makes no progress for `seconds`
    fails the start (a restart loop would not get there any faster). Wakes on the indexer's own
    progress (or a follower task ending), not on a timer."""
    last, since = indexer.applied, time.monotonic()
    told = since
    while not indexer.fresh():
        changed = asyncio.ensure_future(indexer.changed())
        try:
            await asyncio.wait({changed, *tasks}, timeout=min(seconds, 5.0), return_when=asyncio.FIRST_COMPLETED)
        finally:
            changed.cancel()
        for task in tasks:
            if task.done():
                task.result()  # a failed follower is a failed start
        now = time.monotonic()
        if indexer.applied != last:
            last, since = indexer.applied, now
        elif now - since > seconds:
            raise TimeoutError(f"the key index made no progress for {seconds:.0f}s (at log sequence {last})")
        if now - told >= 5.0:
            logger.info("indexing the log before answering: at sequence %s", f"{indexer.applied:,}")
            told = now
