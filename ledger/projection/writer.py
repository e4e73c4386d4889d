"""One transaction per batch: archive, ledger rows, figures and the applied sequence — all or nothing.
(A fresh build leaves the ledger rows out of its batches and writes them once at the end: write_new_rows.)

Set-based only: COPY into session temp tables then one INSERT … ON CONFLICT per table, and unnest
upserts for the additive figures. The progress row is the fence: the UPDATE only matches when the
stored sequence is the one this writer started from, so a second writer (or a replay of a batch
that already committed) changes nothing and raises instead.

Small batches (the live projector at the log's tail: a few commits each) take fewer round trips,
which is most of their latency: up to SMALL rows of a table go as one INSERT … SELECT FROM
unnest($1::table[]) (the rows as an array of the table's row type) instead of a COPY into the stage
table and an INSERT from it, and the archive's and alerts' rows likewise (a COPY is two round trips);
the live writer's check of the live pointer rides in the fencing UPDATE.
"""

from __future__ import annotations

import datetime as dt

import asyncpg
import msgspec

from ledger.projection.fold import Batch
from ledger.projection.merkle import Frontier
from ledger.projection.schema import KEYS, names, q
from ledger.projection.state import blocker_row, project_row, stage_row


class Fenced(Exception):
    """The stored sequence is not where this writer thought: another writer moved it."""


class LiveMoved(Exception):
    """The live pointer now names another build (a replay switched); restart on that build."""

    def __init__(self, schema: str) -> None:
        super().__init__(f"the live ledger moved to {schema}")
        self.schema = schema


class Checkpoint(msgspec.Struct, frozen=True, kw_only=True):
    seq: int
    leaves: int
    root: str
    signature: str
    key_id: str
    public_key: str
    signed_at: dt.datetime


_UPSERTED = ("projects", "project_stages", "project_blockers")
SMALL = 64  # rows of one table up to which a batch inserts them from an array rather than COPYing them
Rows = dict[str, list[tuple[object, ...]]]


def rows_of(batch: Batch) -> Rows:
    """The ledger rows of the projects a batch touched, as they stand now.

    Taken synchronously right after the batch is folded: the next batch may fold into the same
    Project objects while this one is still being written.
    """
    projects = list(batch.projects.values())
    for p in projects:
        p.refresh()
    return {
        "projects": [project_row(p) for p in projects],
        "project_stages": [stage_row(batch.projects[pid].stages[code]) for pid, code in batch.stages],
        "project_blockers": [blocker_row(batch.projects[pid].blockers[b]) for pid, b in batch.blockers],
    }


class Writer:
    """Writes batches into one build schema over one connection (which may also hold the lock)."""

    def __init__(self, conn: asyncpg.Connection, schema: str, *, live: bool = False) -> None:
        self.conn = conn
        self.schema = schema
        self.live = live
        self._staged = False
        s = q(schema)
        self._upsert = {
            table: (
                f"INSERT INTO {s}.{table} SELECT * FROM pg_temp.stg_{table} ON CONFLICT ({', '.join(KEYS[table])}) "
                f"DO UPDATE SET {', '.join(f'{c} = excluded.{c}' for c in names(table) if c not in KEYS[table])}"
            )
            for table in _UPSERTED
        }
        self._from_array = {  # the same statements from an array of the table's row type (SMALL rows or fewer)
            **{table: self._upsert[table].replace(f"pg_temp.stg_{table}", f"unnest($1::{s}.{table}[])", 1)
               for table in _UPSERTED},
            **{table: f"INSERT INTO {s}.{table} SELECT * FROM unnest($1::{s}.{table}[])"
               for table in ("archive", "alerts")},
        }
        self._dept = (
            f"INSERT INTO {s}.department_month AS t SELECT * FROM unnest($1::text[], $2::date[], $3::int[], "
            "$4::int[], $5::int[], $6::int[], $7::bigint[]) ON CONFLICT (department, month) DO UPDATE SET "
            "completed = t.completed + excluded.completed, on_time = t.on_time + excluded.on_time, "
            "early = t.early + excluded.early, late = t.late + excluded.late, "
            "working_days = t.working_days + excluded.working_days"
        )
        self._permits = (
            f"INSERT INTO {s}.permits AS t SELECT * FROM unnest($1::text[], $2::date[], $3::text[], $4::int[], "
            "$5::numeric[], $6::numeric[]) ON CONFLICT (kind, month, district) DO UPDATE SET "
            "issued = t.issued + excluded.issued, land_area_m2 = t.land_area_m2 + excluded.land_area_m2, "
            "floor_area_m2 = t.floor_area_m2 + excluded.floor_area_m2"
        )
        self._progress = (
            f"UPDATE {s}.progress SET applied_seq = $1, commits = commits + $2, events = events + $3, "
            "merkle_size = $4, merkle_peaks = $5 WHERE applied_seq = $6"
        )
        if live:  # and only while this build is live; the share lock holds off a switch until this commits
            self._progress += (" AND EXISTS (SELECT 1 FROM ledger_meta.live WHERE id = 1 AND schema = $7 "
                               "FOR SHARE)")

    async def _stage_tables(self) -> None:
        if not self._staged:
            for table in _UPSERTED:
                await self.conn.execute(f"CREATE TEMP TABLE IF NOT EXISTS stg_{table} "
                                        f"(LIKE {q(self.schema)}.{table}) ON COMMIT DELETE ROWS")
            self._staged = True

    async def write_new_rows(self, rows: Rows) -> None:
        """A fresh build's ledger rows, none of them in the schema yet: plain COPY, one transaction."""
        async with self.conn.transaction():
            for table in _UPSERTED:
                if rows[table]:
                    await self.conn.copy_records_to_table(table, schema_name=self.schema, records=rows[table])

    async def _put(self, table: str, rows: list[tuple[object, ...]]) -> None:
        """One table's rows of a batch: up to SMALL of them as one statement from an array of the row type,
        more by COPY — into the table (append-only), or into its stage table and then one INSERT … ON
        CONFLICT from there (upserted)."""
        if not rows:
            return
        if len(rows) <= SMALL:
            await self.conn.execute(self._from_array[table], rows)
        elif table in self._upsert:
            await self.conn.copy_records_to_table(f"stg_{table}", records=rows)
            await self.conn.execute(self._upsert[table])
        else:
            await self.conn.copy_records_to_table(table, schema_name=self.schema, records=rows)

    async def write(self, batch: Batch, rows: Rows, frontier: Frontier, checkpoint: Checkpoint | None = None) -> None:
        """Commit one batch; `rows` is the snapshot rows_of(batch) took right after the fold, or empty
        (`{}`) in a fresh build, whose ledger rows wait for write_new_rows."""
        await self._stage_tables()
        conn = self.conn
        async with conn.transaction():
            fence = (self.schema,) if self.live else ()
            done = await conn.execute(self._progress, batch.last_seq, batch.commits, batch.events,
                                      frontier.size, frontier.peaks, batch.prev_seq, *fence)
            if done != "UPDATE 1":
                live = await conn.fetchval("SELECT schema FROM ledger_meta.live WHERE id = 1") if self.live else None
                if self.live and live != self.schema:
                    raise LiveMoved(str(live))
                raise Fenced(f"{self.schema}: applied sequence is no longer {batch.prev_seq}; another writer ran")
            await self._put("archive", batch.archive)
            for table in _UPSERTED:
                await self._put(table, rows.get(table, []))
            if batch.department_month:
                keys, figures = zip(*batch.department_month.items(), strict=True)
                await conn.execute(self._dept, [k[0] for k in keys], [k[1] for k in keys],
                                   *([f[i] for f in figures] for i in range(5)))
            if batch.permits:
                keys2, sums = zip(*batch.permits.items(), strict=True)
                await conn.execute(self._permits, [k[0] for k in keys2], [k[1] for k in keys2],
                                   [k[2] for k in keys2], [int(v[0]) for v in sums], [v[1] for v in sums],
                                   [v[2] for v in sums])
            await self._put("alerts", batch.alerts)
            if checkpoint is not None:
                await conn.execute(
                    "INSERT INTO ledger_meta.checkpoints (seq, leaves, root, signature, key_id, public_key, signed_at) "
                    "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (seq) DO NOTHING",
                    checkpoint.seq, checkpoint.leaves, checkpoint.root, checkpoint.signature, checkpoint.key_id,
                    checkpoint.public_key, checkpoint.signed_at)
