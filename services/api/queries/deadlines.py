"""Open deadlines: running stages, documents accepted as missing, government blockers' goal dates.

A suspended stage has no running deadline (its clock is stopped), so it is not listed.
Pages are ordered by due date (most urgent first) with a keyset cursor on (due_on, key).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg
import msgspec

from services.api import models
from services.api.builds import TODAY, Build
from services.api.errors import bad_parameter
from services.api.paging import decode_cursor, encode_cursor


def union(build: Build) -> str:
    return f"""(
      SELECT t.project_id, 'stage' AS kind, t.stage AS ref, t.department, t.due_on
        FROM {build.project_stages} t WHERE t.status = 'open' AND NOT t.suspended AND t.due_on IS NOT NULL
      UNION ALL
      SELECT t.project_id, 'documents', t.stage, t.department, t.documents_due_on
        FROM {build.project_stages} t WHERE t.status = 'open' AND cardinality(t.missing_documents) > 0
         AND t.documents_due_on IS NOT NULL
      UNION ALL
      SELECT b.project_id, 'blocker', b.blocker_id, b.department, b.due_on
        FROM {build.project_blockers} b WHERE b.status = 'open' AND b.due_on IS NOT NULL)"""


def _select(build: Build, conditions: list[str]) -> str:
    return (f"SELECT d.project_id, p.name AS project_name, d.kind, d.ref, d.department, d.due_on, "
            f"d.due_on < {TODAY} AS overdue, GREATEST(0, {TODAY} - d.due_on) AS days_overdue, "
            f"d.project_id || '/' || d.kind || '/' || d.ref AS key "
            f"FROM {union(build)} d JOIN {build.projects} p ON p.id = d.project_id AND NOT p.withdrawn"
            + (" WHERE " + " AND ".join(conditions) if conditions else ""))


async def list_deadlines(conn: asyncpg.Connection, build: Build, *, overdue: bool | None, kind: str | None,
                         department: str | None, limit: int, cursor: str | None) -> models.DeadlinePage:
    args: list[Any] = []
    conditions: list[str] = []
    if overdue is not None:
        conditions.append(f"(d.due_on < {TODAY}) = ${len(args) + 1}")
        args.append(overdue)
    for column, value in (("kind", kind), ("department", department)):
        if value is not None:
            args.append(value)
            conditions.append(f"d.{column} = ${len(args)}")
    if cursor is not None:
        c = decode_cursor(cursor, "due_on")
        try:
            args += [dt.date.fromisoformat(str(c.value)), c.id]
        except ValueError:
            raise bad_parameter("cursor", "not a cursor this API returned") from None
        conditions.append(f"(d.due_on, d.project_id || '/' || d.kind || '/' || d.ref) > (${len(args) - 1}, "
                          f"${len(args)})")
    sql = _select(build, conditions) + f" ORDER BY d.due_on, key LIMIT {int(limit) + 1}"
    rows = await conn.fetch(sql, *args)
    more = len(rows) > limit
    rows = rows[:limit]
    items = [msgspec.convert(dict(r), models.Deadline) for r in rows]
    next_cursor = encode_cursor("due_on", rows[-1]["due_on"], rows[-1]["key"]) if more and rows else None
    return models.DeadlinePage(items=items, next_cursor=next_cursor)


async def project_deadlines(conn: asyncpg.Connection, build: Build, project_id: str) -> list[models.Deadline]:
    rows = await conn.fetch(_select(build, ["d.project_id = $1"]) + " ORDER BY d.due_on, key", project_id)
    return [msgspec.convert(dict(r), models.Deadline) for r in rows]
