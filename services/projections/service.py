"""The live projector: one active writer per prefix (advisory lock), the others wait as hot standby.

A plain asyncio loop over EventLog.read(follow=True) rather than a FastStream subscriber: the
projection is a single ordered reader whose position lives in Postgres (not in a durable
consumer), it needs batches of whatever has arrived (not one callback per message), and an
ordered push consumer reads ~5× faster than a pull `fetch()`. When a replay switches the live
build, the next batch notices (LiveMoved) and the loop restarts on the new schema. Until then the
projector holds a claim on the build it writes to, so that a replay never drops it (catalog.hold_target).
"""

from __future__ import annotations

import asyncio
import logging
import time

import asyncpg
import nats

from ledger.clock import Clock, SystemClock
from ledger.eventlog import EventLog
from ledger.pg import CUSTOM_PLANS
from ledger.projection import catalog
from ledger.projection.projector import Projector
from ledger.projection.signing import CheckpointPolicy, Signer
from ledger.projection.writer import LiveMoved
from ledger.settings import ConfigError, Settings

log = logging.getLogger("projections")
# Projects kept in memory between batches (~4.7 KB each); beyond it the cache is dropped and misses
# are read back from the ledger. 200 000 held ~1 GB after a million events; 10 000 keeps the service
# near 150 MB whatever the log's length.
LIVE_CACHE = 10_000


async def connect_live(database_url: str) -> asyncpg.Connection:
    """The live projector's one connection (it holds the lock and does every write). CUSTOM_PLANS: the live
    schema starts empty, and a generic plan of the look-ups of projects missing from the cache
    (projector.lookup_sql) scanned the whole table: in bench.e2e's 20 s from a new install they were 5 of
    Postgres's 8.5 CPU-s (9 ms a look-up at 15 000 projects, against 0.04 ms by the primary key)."""
    return await asyncpg.connect(database_url, server_settings=CUSTOM_PLANS)


async def ensure_live(conn: asyncpg.Connection) -> str:
    """The live build's schema; creates an empty first build on a fresh database."""
    await catalog.ensure_meta(conn)
    schema = await catalog.live_schema(conn)
    if schema is None:
        schema = await catalog.new_build(conn)
        await catalog.switch_live(conn, schema)
    return schema


async def checkpoint_policy(conn: asyncpg.Connection, settings: Settings, clock: Clock) -> CheckpointPolicy:
    signer = Signer.load_or_create(settings.signing_key_path)
    last = await conn.fetchrow("SELECT seq, signed_at FROM ledger_meta.checkpoints ORDER BY seq DESC LIMIT 1")
    return CheckpointPolicy(signer, clock, every=settings.checkpoint_every, minutes=settings.checkpoint_minutes,
                            last_seq=last["seq"] if last else 0, last_at=last["signed_at"] if last else None)


async def run(settings: Settings, clock: Clock | None = None, *, ready: asyncio.Event | None = None) -> None:
    if settings.database_url is None:
        raise ConfigError("Config 'LEDGER_DATABASE_URL' is not set. Start the system with 'ledger up' or set it.")
    clock = clock or SystemClock()
    nc = await nats.connect(settings.nats_url or "nats://127.0.0.1:4222", user=settings.nats_user,
                            password=settings.nats_password, name="projections", max_reconnect_attempts=-1)
    conn = await connect_live(settings.database_url)
    try:
        # The lock is held by this session, and this session does every write: if it dies, so do
        # its writes, and a standby takes over from the stored sequence.
        if not await conn.fetchval("SELECT pg_try_advisory_lock(hashtext($1))", f"projector:{settings.prefix}"):
            log.info("standby: another projector is active; waiting for its lock")
            await conn.execute("SELECT pg_advisory_lock(hashtext($1))", f"projector:{settings.prefix}")
        log.info("active: projecting %s", settings.subjects.events_stream)
        eventlog = EventLog(nc, settings.subjects)
        # Claimed while this projector writes to it: a replay does not drop the build under us (catalog).
        schema = await catalog.hold_target(conn, await ensure_live(conn))
        while True:
            projector = Projector(conn, eventlog, schema, live=True, batch_size=settings.projector_batch,
                                  cache_limit=LIVE_CACHE,
                                  checkpoint=await checkpoint_policy(conn, settings, clock),
                                  cut_every=settings.checkpoint_every)
            started = time.monotonic()
            log.info("projecting into %s from sequence %d", schema, await projector.load_position() + 1)
            if ready is not None:
                ready.set()
            try:
                await projector.run(follow=True)
            except LiveMoved as moved:
                log.info("live build switched from %s to %s after %.0fs", schema, moved.schema,
                         time.monotonic() - started)
                await catalog.release_target(conn, schema)
                schema = await catalog.hold_target(conn, moved.schema)
    finally:
        await conn.close()
        await nc.close()
