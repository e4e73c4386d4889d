"""Open deadlines: running stages, documents accepted as missing, government blockers' goal dates.

A suspended stage has no running deadline (its clock is stopped), so it is not listed.
Pages are ordered by due date (most urgent first) with a keyset cursor on (due_on, key). Each kind
is read in due-date order from its own index with its own LIMIT, then the three are merged: a page
costs the same on 100 000 projects as on 100.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg
import msgspec

from services.api import models
from services.api.builds import Build
from services.api.errors import bad_parameter
from services.api.paging import decode_cursor, encode_cursor

# kind → (relation attribute, alias, ref column, due column, condition of an open deadline)
BRANCHES = {
    "stage": ("project_stages", "t", "t.stage", "t.due_on",
              "t.status = 'open' AND NOT t.suspended AND t.due_on IS NOT NULL"),
    "documents": ("project_stages", "t", "t.stage", "t.documents_due_on",
                  "t.status = 'open' AND cardinality(t.missing_documents) > 0 AND t.documents_due_on IS NOT NULL"),
    "blocker": ("project_blockers", "b", "b.blocker_id", "b.due_on", "b.status = 'open' AND b.due_on IS NOT NULL"),
}


def branch(build: Build, kind: str, conditions: list[str], limit: int) -> str:
    relation, a, ref, due, open_ = BRANCHES[kind]
    key = f"{a}.project_id || '/{kind}/' || {ref}"
    where = " AND ".join([open_, *(c.format(due=due, key=key, a=a) for c in conditions)])
    return (f"(SELECT {a}.project_id, p.name AS project_name, '{kind}' AS kind, {ref} AS ref, {a}.department, "
            f"{due} AS due_on, {due} < {build.today} AS overdue, "
            f"GREATEST(0, {build.today} - {due}) AS days_overdue, {key} AS key "
            f"FROM {getattr(build, relation)} {a} JOIN {build.projects} p ON p.id = {a}.project_id AND NOT p.withdrawn "
            f"WHERE {where} ORDER BY {due}, {key} LIMIT {limit})")


def select(build: Build, kinds: list[str], conditions: list[str], limit: int) -> str:
    union = " UNION ALL ".join(branch(build, k, conditions, limit) for k in kinds)
    return f"SELECT * FROM ({union}) d ORDER BY d.due_on, d.key LIMIT {limit}"


async def list_deadlines(conn: asyncpg.Connection, build: Build, *, overdue: bool | None, kind: str | None,
                         department: str | None, limit: int, cursor: str | None) -> models.DeadlinePage:
    args: list[Any] = []
    conditions: list[str] = []  # templates over {due}, {key}, {a}: applied in every branch
    if overdue is not None:
        conditions.append(f"{{due}} {'<' if overdue else '>='} {build.today}")
    if department is not None:
        args.append(department)
        conditions.append(f"{{a}}.department = ${len(args)}")
    if cursor is not None:
        c = decode_cursor(cursor, "due_on")
        try:
            args += [dt.date.fromisoformat(str(c.value)), c.id]
        except ValueError:
            raise bad_parameter("cursor", "not a cursor this API returned") from None
        v, k = f"${len(args) - 1}", f"${len(args)}"
        conditions.append(f"{{due}} >= {v} AND ({{due}}, {{key}}) > ({v}, {k})")  # the first part uses the index
    kinds = [kind] if kind is not None else list(BRANCHES)
    rows = await conn.fetch(select(build, kinds, conditions, int(limit) + 1), *args)
    more = len(rows) > limit
    rows = rows[:limit]
    items = [msgspec.convert(dict(r), models.Deadline) for r in rows]
    next_cursor = encode_cursor("due_on", rows[-1]["due_on"], rows[-1]["key"]) if more and rows else None
    return models.DeadlinePage(items=items, next_cursor=next_cursor)


async def project_deadlines(conn: asyncpg.Connection, build: Build, project_id: str) -> list[models.Deadline]:
    rows = await conn.fetch(select(build, list(BRANCHES), ["{a}.project_id = $1"], 1000), project_id)
    return [msgspec.convert(dict(r), models.Deadline) for r in rows]
