"""The key-index follower outlives failures of Postgres and of the log: intake never goes stale for good."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from ledger.eventlog import EventLog, next_commit
from ledger.waits import cancel_and_wait
from services.intake.index import Indexer, KeyIndex
from tests.factories import commit_after, received
from tests.faults import Fault, faulty
from tests.waiting import eventually


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    yield pool
    await pool.close()


@contextlib.asynccontextmanager
async def following(indexer: Indexer) -> AsyncIterator[None]:
    """The indexer's follower and sampler running for the block, cancelled after it."""
    tasks = [asyncio.create_task(indexer.follow()), asyncio.create_task(indexer.sample(interval=0.05))]
    try:
        yield
    finally:
        await cancel_and_wait(tasks)


async def test_the_follower_resumes_after_failed_writes_and_the_index_becomes_fresh(
    log: EventLog, pool: asyncpg.Pool, pg_schema: str
) -> None:
    index = KeyIndex(pool, pg_schema)
    await index.setup()
    for n in range(3):
        loaded = await log.load_project(f"R-{n}")
        await log.append(commit_after(loaded, f"R-{n}", [received(f"R-{n}")]), expected_version=0)
    writes = Fault(ConnectionError("the database system is shutting down"), times=2)  # a Postgres restart
    samples = Fault(TimeoutError("no JetStream leader"), times=3)  # a leader election
    indexer = Indexer(faulty(log, last_seq=samples), faulty(index, apply=writes))
    async with following(indexer):
        await eventually(lambda: _ready(indexer, 3), within=30, what="index caught up after failures")
        assert writes.failed == 2 and samples.failed == 3  # every injected failure was met
        assert await index.applied_seq() == 3


async def test_keys_postgres_lost_in_a_crash_are_applied_again_before_the_position_moves_past_them(
    log: EventLog, pool: asyncpg.Pool, pg_schema: str
) -> None:
    # The follower writes with synchronous_commit off: a Postgres crash may lose its last commits (keys and
    # position together) while its pool reconnects by itself. Here the loss is made by hand: the keys of
    # sequences 2 and 3 are gone and the position is back at 1, as Postgres would hold them after the crash.
    index = KeyIndex(pool, pg_schema)
    await index.setup()

    async def append(n: int) -> None:
        loaded = await log.load_project(f"L-{n}")
        commit = next_commit(loaded, commit_id=f"c-{n}", key=f"L-{n}", events=[received(f"L-{n}")], source="window",
                             idempotency_key=f"k-{n}", submission_hash="h")
        await log.append(commit, expected_version=0)

    async def keys() -> list[str]:
        return [r[0] for r in await pool.fetch(f'SELECT key FROM "{pg_schema}".idempotency_keys ORDER BY key')]

    for n in range(1, 4):
        await append(n)
    indexer = Indexer(log, index, linger=0.01)
    async with following(indexer):
        await eventually(lambda: _ready(indexer, 3), within=30, what="index caught up")
        assert await keys() == ["k-1", "k-2", "k-3"]
        await pool.execute(f'DELETE FROM "{pg_schema}".idempotency_keys WHERE key IN (\'k-2\', \'k-3\')')
        await pool.execute(f'UPDATE "{pg_schema}".tracking SET seq = 1')
        await append(4)  # the follower's next batch finds the position behind what it wrote

        async def all_keys_back() -> bool:
            return await keys() == ["k-1", "k-2", "k-3", "k-4"] and await index.applied_seq() == 4

        await eventually(all_keys_back, within=30, what="the lost keys applied again")
        await eventually(lambda: _ready(indexer, 4), within=30, what="index fresh again")


async def _ready(indexer: Indexer, seq: int) -> bool:
    return indexer.applied >= seq and indexer.fresh()


async def test_replicas_starting_together_all_set_up_the_index(database_url: str) -> None:
    schema = f"t_setup_{uuid.uuid4().hex[:8]}"  # a schema no one has created yet
    pools = [await asyncpg.create_pool(database_url, min_size=1, max_size=1) for _ in range(4)]
    try:
        # the four replicas' DDL raced in the catalog (unique violation on pg_namespace) before
        await asyncio.gather(*(KeyIndex(pool, schema).setup() for pool in pools))
        assert await pools[0].fetchval(f'SELECT count(*) FROM "{schema}".idempotency_keys') == 0
    finally:
        await pools[0].execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        for pool in pools:
            await pool.close()
