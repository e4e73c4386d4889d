"""The (source, idempotency key) → (payload hash, receipt) index in Postgres, fed from the log.

A follower reads the log in order (LogReader: pages, then the live tail) and writes batches of
rows together with the last applied stream sequence in one statement, so a restart resumes
exactly where it stopped and never applies a commit twice. `fresh()` says whether the index has
applied everything that was in the log at most STALE_AFTER seconds ago (see idempotency.py).
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time

import asyncpg
import msgspec

from contracts.envelope import Recorded
from contracts.receipts import Accepted
from ledger.coalesce import Coalescer
from ledger.eventlog import EventLog
from ledger.logreader import LogReader
from ledger.pg import CUSTOM_PLANS
from ledger.receipts import receipt_of
from ledger.waits import cancel_and_wait

RETRY_MIN_S, RETRY_MAX_S = 0.5, 10.0
log = logging.getLogger("intake.index")

STALE_AFTER = 60.0
"""Half the event log's duplicate window (120 s): the bound idempotency.py relies on."""
CONSUMER = "intake-keys"


class PositionLost(RuntimeError):
    """The stored position is behind what this follower wrote: Postgres lost commits (see KeyIndex.apply)."""


class IndexEntry(msgspec.Struct, frozen=True, kw_only=True):
    submission_hash: str
    receipt: Accepted


def ddl(schema: str) -> str:
    return f"""
    CREATE SCHEMA IF NOT EXISTS "{schema}";
    CREATE TABLE IF NOT EXISTS "{schema}".idempotency_keys (
        source text NOT NULL, key text NOT NULL, submission_hash text NOT NULL,
        project_id text NOT NULL, seq bigint NOT NULL, commit_hash text NOT NULL,
        event_ids text[] NOT NULL, recorded_at timestamptz NOT NULL,
        PRIMARY KEY (source, key));
    CREATE TABLE IF NOT EXISTS "{schema}".tracking (consumer text PRIMARY KEY, seq bigint NOT NULL);
    """


def lookup_sql(schema: str) -> str:
    """The keys of a batch ($1 sources, $2 keys) joined to the index: one index probe per key."""
    return f"""SELECT i.* FROM unnest($1::text[], $2::text[]) AS w(source, key)
               JOIN "{schema}".idempotency_keys i USING (source, key)"""


# Session settings of intake's Postgres connections.
# - synchronous_commit off: intake's only writes are the key index, derived from the log and
#   re-applied from its stored position after a crash (see KeyIndex.apply), so they need no fsync.
# - CUSTOM_PLANS (ledger.pg): a generic plan made while the key table was empty (a new install, or the
#   index just rebuilt from a long log) scanned it for every look-up: 1.3 ms at 19 000 keys, 18 ms at
#   219 000, against 0.25 ms planned each time (tests/intake/test_key_index_plan.py).
PG_SETTINGS = {"synchronous_commit": "off", **CUSTOM_PLANS}


class KeyIndex:
    """Reads and batched writes of the index; `pool` is intake's asyncpg pool."""

    def __init__(self, pool: asyncpg.Pool, schema: str = "intake") -> None:
        self.pool = pool
        self.schema = schema
        # Concurrent submissions share one query per batch instead of one round trip each.
        self._keys: Coalescer[tuple[str, str], IndexEntry] = Coalescer(self._fetch)

    async def setup(self) -> None:
        """Create the schema and tables if missing. Replicas starting together take turns (an
        advisory lock held for the transaction): concurrent CREATE SCHEMA/TABLE IF NOT EXISTS race
        in the catalog, and the loser failed its start with a unique violation on pg_namespace."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"intake-setup:{self.schema}")
            await conn.execute("SET LOCAL synchronous_commit = on")  # the tables and the position row are kept
            await conn.execute(ddl(self.schema))
            await conn.execute(f'INSERT INTO "{self.schema}".tracking VALUES ($1, 0) ON CONFLICT DO NOTHING', CONSUMER)

    async def lookup(self, source: str, key: str) -> IndexEntry | None:
        return await self._keys.get((source, key))

    async def _fetch(self, wanted: list[tuple[str, str]]) -> dict[tuple[str, str], IndexEntry]:
        rows = await self.pool.fetch(lookup_sql(self.schema), [s for s, _ in wanted], [k for _, k in wanted])
        found: dict[tuple[str, str], IndexEntry] = {}
        for row in rows:
            receipt = Accepted(idempotency_key=row["key"], project_id=row["project_id"],
                               event_ids=list(row["event_ids"]), project_version=row["seq"],
                               commit_hash=row["commit_hash"])
            found[(row["source"], row["key"])] = IndexEntry(submission_hash=row["submission_hash"], receipt=receipt)
        return found

    async def applied_seq(self) -> int:
        seq = await self.pool.fetchval(f'SELECT seq FROM "{self.schema}".tracking WHERE consumer = $1', CONSUMER)
        return int(seq or 0)

    async def apply(self, records: list[Recorded], after: int) -> None:
        """Insert the keyed commits of `records` and move the position from `after` (what this follower
        last wrote) to the last record: one statement, so atomic, and one round trip (a transaction took
        five: BEGIN, SET LOCAL, two INSERTs, COMMIT — per batch, and at a steady few hundred
        submissions/s the follower applies batches of one or two).

        The index is derived from the log and keeps its position in this same statement: a crash can
        lose only the newest of these commits, which the follower re-applies from the stored
        position. So no fsync here (intake's connections run with synchronous_commit off: PG_SETTINGS
        above) — it would double the disk flushes per submission that the append already pays for
        (DESIGN.md). But a follower that goes on writing after such a crash (its pool reconnects by
        itself) must not move the position past the lost commits: the position moves only if it is
        still at least `after` (never backwards: replicas share it), and otherwise PositionLost is
        raised, and the follower starts again from what Postgres holds.
        """
        keyed = [(r, receipt_of(r, duplicate=False)) for r in records if r.commit.source and r.commit.idempotency_key]
        done = await self.pool.execute(
            f"""WITH keys AS (
                  INSERT INTO "{self.schema}".idempotency_keys
                  SELECT s, k, h, p, q, c, string_to_array(e, ' '), t FROM unnest(
                    $1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[], $7::text[],
                    $8::timestamptz[]) AS u(s, k, h, p, q, c, e, t)
                  ON CONFLICT (source, key) DO NOTHING)  -- the first commit of a key is the original
                UPDATE "{self.schema}".tracking SET seq = greatest(seq, $10) WHERE consumer = $9 AND seq >= $11""",
            [r.commit.source for r, _ in keyed], [r.commit.idempotency_key for r, _ in keyed],
            [r.commit.submission_hash for r, _ in keyed], [a.project_id for _, a in keyed],
            [a.project_version for _, a in keyed], [a.commit_hash for _, a in keyed],
            [" ".join(a.event_ids) for _, a in keyed], [r.recorded_at for r, _ in keyed],
            CONSUMER, records[-1].seq, after,
        )
        if done != "UPDATE 1":
            held = await self.applied_seq()
            raise PositionLost(f"the key index holds keys up to log sequence {held}, not {after} as this follower "
                               "wrote: Postgres lost its last asynchronous commits (a crash?); applying them again")


class Indexer:
    """Keeps the index following the log; knows how fresh it is."""

    def __init__(self, log: EventLog, index: KeyIndex, *, batch: int = 1000, linger: float = 0.05) -> None:
        self.log = log
        self.index = index
        self.batch = batch
        self.linger = linger
        self.applied = 0
        self.fresh_at = float("-inf")
        self._samples: collections.deque[tuple[float, int]] = collections.deque()
        self._changed = asyncio.Condition()

    def fresh(self) -> bool:
        return time.monotonic() - self.fresh_at < STALE_AFTER

    async def follow(self) -> None:
        """Apply the log to the index forever (cancel to stop); a failure (Postgres restarting, a
        NATS leader election) is logged and the follower resumes from the stored sequence."""
        delay = RETRY_MIN_S
        while True:
            try:
                await self._follow_once()
            except asyncio.CancelledError:
                raise
            except Exception as err:  # keep following: a dead follower would make intake refuse all work
                log.warning("key index follower failed (%s); resuming in %.1fs", err, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX_S)
            else:
                delay = RETRY_MIN_S

    async def _follow_once(self) -> None:
        held = await self.index.applied_seq()
        if held < self.applied:  # keys were lost (KeyIndex.apply): not fresh until they are applied again
            self.fresh_at = float("-inf")
        self.applied = held
        # The reader hands over whole lists (LogReader.take), not records one by one: a queue
        # operation per record and an asyncio.wait per batch were most of the follower's own cost.
        # At most 10 lists of up to `batch` records wait while Postgres is slower than the reads.
        queue: asyncio.Queue[list[Recorded]] = asyncio.Queue(maxsize=10)
        reader = LogReader(self.log, from_seq=self.applied + 1, follow=True)

        async def read() -> None:
            await reader.start()
            while records := await reader.take(self.batch):
                await queue.put(records)

        reading = asyncio.create_task(read())
        try:
            while True:
                if queue.empty():
                    getter = asyncio.ensure_future(queue.get())
                    await asyncio.wait({getter, reading}, return_when=asyncio.FIRST_COMPLETED)
                    if not getter.done():
                        getter.cancel()
                        reading.result()  # the read failed: raise it here
                        raise RuntimeError("the log reader stopped")
                    batch = getter.result()
                else:
                    batch = queue.get_nowait()
                while len(batch) < self.batch and not queue.empty():
                    batch.extend(queue.get_nowait())
                await self.index.apply(batch, after=self.applied)
                await self._advance(batch[-1].seq)
                if len(batch) < self.batch:
                    # Not behind: let commits gather for a moment instead of one statement per commit
                    # (at a steady 500 submissions/s that was 500 statements/s, most of Postgres'
                    # CPU). 50 ms more lag is nothing next to the 60 s that fresh() allows.
                    await asyncio.sleep(self.linger)
        finally:
            await cancel_and_wait([reading])
            await reader.close()

    async def sample(self, interval: float = 0.5) -> None:
        """Record (time, log's last sequence) pairs: once applied, that time is a freshness point."""
        while True:
            started = time.monotonic()
            try:
                last = await self.log.last_seq()
            except asyncio.CancelledError:
                raise
            except Exception as err:  # no sample this round: freshness simply does not advance
                log.warning("could not read the log's last sequence: %s", err)
            else:
                self._samples.append((started, last))
                await self._advance(self.applied)
            await asyncio.sleep(interval)

    async def _advance(self, applied: int) -> None:
        self.applied = applied
        while self._samples and self._samples[0][1] <= applied:
            self.fresh_at = self._samples.popleft()[0]
        async with self._changed:
            self._changed.notify_all()

    async def changed(self) -> None:
        """Until the next freshness or position update (every applied batch, every sample)."""
        async with self._changed:
            await self._changed.wait()

    async def wait_applied(self, seq: int) -> None:
        """Until the index holds every commit up to `seq` (wrap in asyncio.timeout)."""
        async with self._changed:
            await self._changed.wait_for(lambda: self.applied >= seq)
