"""Composition root of notify: the deadline view (projector), the scheduler, the delivery workers, the recorder.

Every replica runs all of it; only one replica's projector writes the view at a time (advisory lock,
the others stand by), while every replica's scheduler claims due alerts (SKIP LOCKED).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import aiohttp
import asyncpg

from ledger.calendar_log import CalendarSource
from ledger.clock import Clock, SystemClock
from ledger.eventlog import EventLog
from ledger.pg import CUSTOM_PLANS, keep_session
from ledger.waits import cancel_and_wait, wait_set, within
from services.notify.channels.base import Channel
from services.notify.channels.factory import build_channel
from services.notify.config import NotifyConfig
from services.notify.delivery import TargetWorker
from services.notify.policy import AlertPolicy
from services.notify.projector import Projector
from services.notify.recorder import Recorder
from services.notify.scheduler import Scheduler
from services.notify.schema import ensure_schema, wake_channel

log = logging.getLogger("notify")
DRAIN_SECONDS = 5.0  # on a stop, how long outcomes already delivered get to reach the record


@dataclass
class Notify:
    """A running notify replica (tests hold one directly; `run` holds one until a signal)."""

    scheduler: Scheduler
    projector: Projector
    workers: dict[str, TargetWorker]
    recorder: Recorder
    caught_up: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def position(self) -> int:
        """The last log sequence the view has applied."""
        async with self.scheduler.pool.acquire() as conn:
            return int(await conn.fetchval(f"SELECT seq FROM {self.scheduler.schema}.position"))


async def _projector_loop(p: Projector, event_log: EventLog, lock_key: str) -> None:
    # The lock is held by the projector's own session: if it dies, so do its writes and its lock.
    if not await p.conn.fetchval("SELECT pg_try_advisory_lock(hashtext($1))", lock_key):
        log.info("view standby: another replica's projector is active")
        await p.conn.execute("SELECT pg_advisory_lock(hashtext($1))", lock_key)
    # The calendar is loaded here, once the lock is ours, not at start-up: while this replica stood by,
    # the active one applied CalendarPublished commits and moved the shared position past them, so
    # following on from that position would never show them to this projector (a year published then
    # would stay unknown to it, or an old schedule in force).
    await p.calendar.refresh()
    await p.follow(event_log)


async def _gate(n: Notify, pool: asyncpg.Pool, schema: str, last_seq: int) -> None:
    """Replay never sends: fire nothing until the view holds every commit that existed at start-up
    (so an alert the log already records as sent is settled before it could be claimed)."""
    while True:
        async with pool.acquire() as conn:
            if int(await conn.fetchval(f"SELECT seq FROM {schema}.position")) >= last_seq:
                break
        n.projector.progress.clear()
        await wait_set(n.projector.progress, 0.2)
    n.caught_up.set()


@contextlib.asynccontextmanager
async def running(event_log: EventLog, database_url: str, *, schema: str,
                  config: NotifyConfig, policy: AlertPolicy, clock: Clock,
                  channels: dict[str, Channel] | None = None) -> AsyncIterator[Notify]:
    """Start one replica. Leaving the block normally stops claiming and lets what was already delivered
    reach the record for up to DRAIN_SECONDS (else each such alert would be sent again after its lease);
    then, or at once when the block raised, it is cancelled (as abruptly as a crash, short of the process)."""
    calendar = CalendarSource(event_log)  # loaded by _projector_loop once it holds the view's lock
    # ledger.pg: CUSTOM_PLANS — the settle UPDATE (the alert table joined with the batch's unnest) kept a
    # generic plan made on the empty table that scanned it, ~1 ms to settle one alert at a few thousand
    # rows; keep_session — the pool's statements leave no session state (the lock and LISTEN live on
    # proj_conn and listen_conn), and the default reset was a round trip per release, ~230/s at 50 alerts/s.
    pool = await asyncpg.create_pool(database_url, min_size=2, max_size=10, reset=keep_session,
                                     server_settings=CUSTOM_PLANS)
    proj_conn = await asyncpg.connect(database_url)
    listen_conn = await asyncpg.connect(database_url)
    client = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=config.transport.concurrency))
    tasks: list[asyncio.Task[None]] = []
    try:
        async with pool.acquire() as conn:
            await ensure_schema(conn, schema)
        projector = Projector(proj_conn, schema, calendar, policy, config)
        t = config.transport
        workers: dict[str, TargetWorker] = {}
        recorder = Recorder(event_log, pool, schema,
                            delivered=lambda: asyncio.gather(*(w.delivered() for w in workers.values())))
        workers |= {name: TargetWorker(target, (channels or {}).get(name) or
                                      build_channel(target, client, SystemClock(), t.timeout_seconds),
                                      t, clock, recorder.submit, dry_run=config.dry_run)
                   for name, target in config.targets.items()}
        scheduler = Scheduler(pool, schema, clock, workers, event_log, lease_seconds=t.lease_seconds,
                              max_pending=t.max_pending, recording=recorder.holding)
        n = Notify(scheduler, projector, workers, recorder, tasks=tasks)
        await listen_conn.add_listener(wake_channel(schema), scheduler.wake)
        last = await event_log.last_seq()
        tasks.append(asyncio.create_task(_projector_loop(projector, event_log, f"notify-view:{schema}"),
                                         name="notify view projector"))
        tasks.extend(asyncio.create_task(w.run(), name=f"notify delivery to {name}") for name, w in workers.items())
        recording = asyncio.create_task(recorder.run(), name="notify recorder")
        tasks.append(recording)
        # Its own task, so that a claim round held up (lease recovery reading the log) never holds it up.
        tasks.append(asyncio.create_task(scheduler.renew_forever(), name="notify lease renewal"))

        async def schedule() -> None:
            await _gate(n, pool, schema, last)
            await scheduler.run()

        scheduling = asyncio.create_task(schedule(), name="notify scheduler")
        tasks.append(scheduling)
        yield n
        await cancel_and_wait([scheduling])  # claim nothing new while the record catches up
        # Renewal goes on while the record catches up: the rows still held keep their leases until they are
        # on the record (or the drain runs out); it stops with the rest, below.
        if not recording.done():
            with contextlib.suppress(TimeoutError):
                await within(recorder.drained(), DRAIN_SECONDS)
    finally:
        await cancel_and_wait(tasks)
        await client.close()
        for c in (proj_conn, listen_conn):
            c.terminate()
        pool.terminate()
