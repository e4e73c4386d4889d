"""`ledger verify` against the servers: hash chains from the log, the archive row by row, checkpoints.

The log is the source of truth: every key's chain is recomputed from the stored bytes, the
archive rows a correct projector would have written are derived with the same fold code and
compared with the archive field by field, and every signed checkpoint's root is recomputed.
The first break is named exactly: project, sequence, field.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator

import asyncpg
import msgspec

from contracts.types import GENESIS_HASH
from ledger.eventlog import EventLog
from ledger.projection.fold import Batch, fold_commit
from ledger.projection.merkle import Frontier
from ledger.projection.schema import names, q
from ledger.projection.signing import signature_ok

FIELDS = names("archive")


class Break(msgspec.Struct, frozen=True, kw_only=True):
    seq: int
    project: str
    field: str
    detail: str

    def __str__(self) -> str:
        return f"first break: project {self.project}, sequence {self.seq}, field {self.field}: {self.detail}"


class Report(msgspec.Struct, kw_only=True):
    commits: int = 0
    archive_rows: int = 0
    checkpoints: int = 0
    first_break: Break | None = None


async def _archive(conn: asyncpg.Connection, schema: str) -> AsyncGenerator[asyncpg.Record, None]:
    async with conn.transaction():
        async for row in conn.cursor(f"SELECT * FROM {q(schema)}.archive ORDER BY seq, idx", prefetch=5000):
            yield row


def _same(field: str, have: object, want: object) -> bool:
    if field == "payload":
        return bool(json.loads(str(have)) == json.loads(str(want)))
    return have == want


async def verify(conn: asyncpg.Connection, log: EventLog, schema: str) -> Report:
    rows = _archive(conn, schema)
    try:
        return await _verify(conn, log, rows)
    finally:
        await rows.aclose()


async def _verify(conn: asyncpg.Connection, log: EventLog, rows: AsyncGenerator[asyncpg.Record, None]) -> Report:
    report = Report()
    tips: dict[str, tuple[str, int]] = {}
    frontier = Frontier()
    signed = {r["seq"]: r for r in await conn.fetch("SELECT * FROM ledger_meta.checkpoints ORDER BY seq")}
    async for rec in log.read():
        report.commits += 1
        c = rec.commit
        key = f"{c.kind}:{c.key}"
        prev_hash, prev_number = tips.get(key, (GENESIS_HASH, 0))
        if c.prev_hash != prev_hash:
            return _stop(report, rec.seq, c.key, "prev_hash", f"log has {c.prev_hash}, chain needs {prev_hash}")
        if c.number != prev_number + 1:
            return _stop(report, rec.seq, c.key, "number", f"log has {c.number}, chain needs {prev_number + 1}")
        tips[key] = (rec.hash, c.number)
        frontier.append(rec.hash)
        batch = Batch(prev_seq=rec.seq - 1)
        fold_commit(rec, batch, None)
        for want in batch.archive:
            have = await anext(rows, None)
            if have is None or (have["seq"], have["idx"]) > (want[0], want[1]):
                return _stop(report, rec.seq, c.key, "row", f"archive has no row for event {want[1]}")
            if (have["seq"], have["idx"]) < (want[0], want[1]):
                return _stop(report, have["seq"], str(have["key"]), "row", "archive row not in the log")
            report.archive_rows += 1
            for name, value in zip(FIELDS, want, strict=True):
                if not _same(name, have[name], value):
                    return _stop(report, rec.seq, c.key, name, f"archive has {have[name]!r}, log has {value!r}")
        if (cp := signed.get(rec.seq)) is not None:
            report.checkpoints += 1
            if cp["root"] != frontier.root() or cp["leaves"] != frontier.size:
                return _stop(report, rec.seq, c.key, "checkpoint.root", f"signed {cp['root']}, log gives "
                             f"{frontier.root()}")
            if not signature_ok(cp["public_key"], cp["seq"], cp["leaves"], cp["root"], cp["signature"]):
                return _stop(report, rec.seq, c.key, "checkpoint.signature", "signature does not verify")
    extra = await anext(rows, None)
    if extra is not None:
        return _stop(report, extra["seq"], str(extra["key"]), "row", "archive row past the end of the log")
    return report


def _stop(report: Report, seq: int, project: str, field: str, detail: str) -> Report:
    report.first_break = Break(seq=seq, project=project, field=field, detail=detail)
    return report
