"""The projector loop: read the log in order, fold a batch in memory, write it in one transaction.

Used by the live service (follow mode), by `ledger replay` (rebuild into a fresh schema) and by
as-of builds (with an event filter). Exactly-once: the applied sequence is read back from the
schema at start, records at or below it are skipped, and a jump past it is refused as a gap.

Pipelined: batch N+1 is folded (Python, one core) while batch N commits (Postgres, the other
core). At most one write is in flight, so commits stay in order; each batch's rows are a snapshot
taken right after its fold; the connection is drained before any read of the schema.

A fresh build (a rebuild or an as-of build into an empty schema) writes its ledger rows once, not
per batch: while it is fresh every project it touches is in memory, so the batches carry only the
archive, the additive figures and the applied sequence, and the projects, stages and blockers are
COPYed once when the run ends (or when the cache outgrows its limit; from then on the build
upserts per batch like the live one). A fresh build is never resumed: until it is finished it
holds its advisory lock, and one whose session died is dropped as abandoned (catalog), so the rows
it had not yet written cannot be seen.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import asyncpg

from contracts.envelope import Recorded
from ledger.eventlog import EventLog
from ledger.logpump import PumpReader
from ledger.logreader import LogReader
from ledger.projection.fold import Batch, EventFilter, fold_commit
from ledger.projection.merkle import Frontier
from ledger.projection.schema import q
from ledger.projection.state import Project, project_from_rows
from ledger.projection.writer import Checkpoint, Rows, Writer, rows_of
from ledger.waits import cancel_and_wait

CheckpointHook = Callable[[int, Frontier], Checkpoint | None]
Progress = Callable[[int, int], None]

def lookup_sql(schema: str) -> tuple[str, str, str]:
    """The projects, their stages and their blockers with ids in $1 (a text[])."""
    s = q(schema)
    return (f"SELECT * FROM {s}.projects WHERE id = ANY($1::text[])",
            f"SELECT * FROM {s}.project_stages WHERE project_id = ANY($1::text[])",
            f"SELECT * FROM {s}.project_blockers WHERE project_id = ANY($1::text[])")


class GapError(Exception):
    """The log delivered a sequence past the next expected one: refuse rather than skip history."""


class Projector:
    def __init__(
        self,
        conn: asyncpg.Connection,
        log: EventLog,
        schema: str,
        *,
        live: bool = False,
        fresh: bool = False,
        keep: EventFilter | None = None,
        batch_size: int = 5000,
        cache_limit: int = 200_000,
        checkpoint: CheckpointHook | None = None,
        cut_every: int = 0,
        pump: bool = False,
    ) -> None:
        self.conn, self.log, self.schema = conn, log, schema
        self.writer = Writer(conn, schema, live=live)
        self.fresh, self.keep, self.batch_size, self.cache_limit = fresh, keep, batch_size, cache_limit
        self.checkpoint = checkpoint
        self.cut_every = cut_every  # end a batch at every multiple: checkpoints land on round sequences
        self.pump = pump  # bounded runs read through a reader process (ledger.logpump): rebuilds
        self.cache: dict[str, Project] = {}
        self.applied = 0  # committed
        self.folded = 0  # folded into memory (committed, or in the write in flight)
        self.events = 0
        self.frontier = Frontier()
        self._inflight: asyncio.Task[None] | None = None
        self._unwritten = Batch(prev_seq=0)  # fresh: what the batches folded but did not write yet

    async def load_position(self) -> int:
        row = await self.conn.fetchrow(
            f"SELECT applied_seq, events, merkle_size, merkle_peaks FROM {q(self.schema)}.progress")
        self.applied, self.events = int(row["applied_seq"]), int(row["events"])
        self.folded = self.applied
        self.frontier = Frontier(int(row["merkle_size"]), row["merkle_peaks"])
        self.fresh = self.fresh and self.applied == 0
        return self.applied

    async def run(self, *, until_seq: int | None = None, follow: bool = False, progress: Progress | None = None) -> int:
        """Apply everything after the stored sequence (up to until_seq); returns the applied sequence."""
        await self.load_position()
        if until_seq is not None and until_seq <= self.applied:
            return self.applied
        reader: LogReader | PumpReader
        if self.pump and not follow:
            reader = PumpReader(self.log, from_seq=self.applied + 1, until_seq=until_seq)
        else:
            reader = LogReader(self.log, from_seq=self.applied + 1, until_seq=until_seq, follow=follow,
                               page=min(self.batch_size, 1000), tail_backlog=max(self.batch_size, 2000))
        await reader.start()
        try:
            while records := await reader.take(self.batch_size):
                for part in self._cut(records):
                    await self._apply(part)
                if progress is not None:
                    progress(self.applied, self.events)
            await self._drain()
            await self._write_unwritten()
        finally:
            await reader.close()
            if self._inflight is not None and not self._inflight.done():
                await cancel_and_wait([self._inflight])  # the transaction rolls back: nothing half-written
        return self.applied

    def _cut(self, records: list[Recorded]) -> list[list[Recorded]]:
        if not self.cut_every:
            return [records]
        parts: list[list[Recorded]] = [[]]
        for rec in records:
            parts[-1].append(rec)
            if rec.seq % self.cut_every == 0:
                parts.append([])
        return [p for p in parts if p]

    async def _apply(self, records: list[Recorded]) -> None:
        fresh_records = [r for r in records if r.seq > self.folded]  # redelivered: already applied
        if not fresh_records:
            return
        keys = {r.commit.key for r in fresh_records if r.commit.kind == "project"}
        if not self.fresh and any(k not in self.cache for k in keys):
            await self._drain()  # the schema is read on this connection: let the write in flight finish
        await self._load_missing(keys)
        batch = Batch(prev_seq=self.folded)
        expected = self.folded + 1
        frontier = self.frontier.copy()
        for n, rec in enumerate(fresh_records, 1):
            if rec.seq != expected:
                raise GapError(f"{self.schema}: expected sequence {expected}, the log delivered {rec.seq}")
            expected += 1
            project = self.cache[rec.commit.key] if rec.commit.kind == "project" else None
            fold_commit(rec, batch, project, self.keep)
            frontier.append(rec.hash)
            if n % 512 == 0:
                await asyncio.sleep(0)  # let the write in flight send its next statement
        checkpoint = self.checkpoint(batch.last_seq, frontier) if self.checkpoint is not None else None
        if self.fresh:  # the rows are written once, at the end (see the module's doc)
            self._unwritten.projects.update(batch.projects)
            self._unwritten.stages |= batch.stages
            self._unwritten.blockers |= batch.blockers
            rows: Rows = {}
        else:
            rows = rows_of(batch)
        await self._drain()
        self.folded, self.frontier = batch.last_seq, frontier
        self._inflight = asyncio.create_task(self._commit(batch, rows, frontier, checkpoint))
        if len(self.cache) > self.cache_limit:
            await self._drain()
            await self._write_unwritten()
            self.cache.clear()
            self.fresh = False  # from now on a miss may be a project already in the schema

    async def _commit(self, batch: Batch, rows: Rows, frontier: Frontier, checkpoint: Checkpoint | None) -> None:
        await self.writer.write(batch, rows, frontier, checkpoint)
        self.applied = batch.last_seq
        self.events += batch.events

    async def _write_unwritten(self) -> None:
        """Fresh build: COPY the ledger rows of every project folded so far (each exactly once)."""
        if self._unwritten.projects:
            await self.writer.write_new_rows(rows_of(self._unwritten))
        self._unwritten = Batch(prev_seq=0)

    async def _drain(self) -> None:
        """Wait for the write in flight; its failure surfaces here (and stops the run)."""
        if self._inflight is not None:
            task, self._inflight = self._inflight, None
            await task

    async def _load_missing(self, keys: set[str]) -> None:
        missing = [k for k in keys if k not in self.cache]
        if not missing:
            return
        if not self.fresh:
            projects_sql, stages_sql, blockers_sql = lookup_sql(self.schema)
            rows = await self.conn.fetch(projects_sql, missing)
            found = [r["id"] for r in rows]  # a project without a row has no stages or blockers either
            stages = await self.conn.fetch(stages_sql, found) if found else []
            blockers = await self.conn.fetch(blockers_sql, found) if found else []
            by_stage: dict[str, list[asyncpg.Record]] = {}
            by_blocker: dict[str, list[asyncpg.Record]] = {}
            for r in stages:
                by_stage.setdefault(r["project_id"], []).append(r)
            for r in blockers:
                by_blocker.setdefault(r["project_id"], []).append(r)
            for r in rows:
                pid = r["id"]
                self.cache[pid] = project_from_rows(r, by_stage.get(pid, []), by_blocker.get(pid, []))
        for k in missing:
            if k not in self.cache:
                self.cache[k] = Project(id=k)
