"""The projects list (filters, sort, keyset pages) and one project's entry with its history."""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg
import msgspec

from services.api import models
from services.api.builds import Build
from services.api.errors import bad_parameter
from services.api.paging import decode_cursor, encode_cursor, parse_sort
from services.api.queries.deadlines import project_deadlines

# sort name → key expression; nullable dates sort last ascending (a sentinel, so the key is never NULL).
# Each key has an index (key, id) in the build (ledger.projection.schema.index_ddl), so a page is an index
# range scan whatever its depth.
SORTS = {
    "id": "p.id",
    "name": "p.name",
    "received_on": "COALESCE(p.received_on, DATE '9999-12-31')",
    "next_due_on": "COALESCE(p.next_due_on, DATE '9999-12-31')",
}
DATE_SORTS = {"received_on", "next_due_on"}


def flags(r: asyncpg.Record) -> dict[str, Any]:
    """The row with `overdue` as a plain bool: the views give NULL when there is no due date at all."""
    return {**dict(r), "overdue": bool(r["overdue"])}


class ProjectFilter(msgspec.Struct, frozen=True, kw_only=True):
    district: str | None = None
    track: str | None = None
    category: str | None = None
    stage: str | None = None
    overdue: bool | None = None
    blocker_side: str | None = None
    blocker_cause: str | None = None
    key_project: bool | None = None
    withdrawn: bool | None = None
    q: str | None = None


def where(f: ProjectFilter, build: Build, args: list[Any]) -> list[str]:
    def arg(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    out: list[str] = []
    for column in ("district", "track", "category"):
        value = getattr(f, column)
        if value is not None:
            out.append(f"p.{column} = {arg(value)}")
    for column in ("overdue", "key_project", "withdrawn"):
        value = getattr(f, column)
        if value is not None:
            out.append(f"p.{column} = {arg(value)}")
    if f.stage is not None:
        out.append(f"{arg(f.stage)} = ANY(p.open_stages)")
    if f.blocker_cause is not None:
        side = f" AND b.side = {arg(f.blocker_side)}" if f.blocker_side is not None else ""
        out.append(f"EXISTS (SELECT 1 FROM {build.project_blockers} b WHERE b.project_id = p.id "
                   f"AND b.status = 'open' AND b.cause = {arg(f.blocker_cause)}{side})")
    elif f.blocker_side == "government":
        out.append("p.open_gov_blockers > 0")
    elif f.blocker_side == "enterprise":
        out.append("p.open_ent_blockers > 0")
    if f.q:  # a substring, matched by the trigram index on lower(name) and lower(enterprise)
        pattern = "%" + f.q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        needle = arg(pattern)
        out.append(f"(lower(p.name) LIKE {needle} OR lower(p.enterprise) LIKE {needle})")
    return out


async def list_projects(conn: asyncpg.Connection, build: Build, f: ProjectFilter, *, sort: str, limit: int,
                        cursor: str | None, with_total: bool) -> models.ProjectPage:
    name, key, desc = parse_sort(sort, SORTS)
    args: list[Any] = []
    conditions = where(f, build, args)
    total = None
    if with_total:
        sql = f"SELECT count(*) FROM {build.projects} p" + (" WHERE " + " AND ".join(conditions) if conditions else "")
        total = int(await conn.fetchval(sql, *args))
    page_conditions = list(conditions)
    if cursor is not None:
        c = decode_cursor(cursor, sort)
        value: Any = c.value
        if name in DATE_SORTS:
            try:
                value = dt.date.fromisoformat(str(c.value))
            except ValueError:
                raise bad_parameter("cursor", "not a cursor this API returned") from None
        args += [value, c.id]
        page_conditions.append(f"({key}, p.id) {'<' if desc else '>'} (${len(args) - 1}, ${len(args)})")
    direction = "DESC" if desc else "ASC"
    sql = (f"SELECT p.*, {key} AS sort_key FROM {build.projects} p"
           + (" WHERE " + " AND ".join(page_conditions) if page_conditions else "")
           + f" ORDER BY {key} {direction}, p.id {direction} LIMIT {int(limit) + 1}")
    rows = await conn.fetch(sql, *args)
    more = len(rows) > limit
    rows = rows[:limit]
    items = [msgspec.convert(flags(r), models.Project) for r in rows]
    next_cursor = encode_cursor(sort, rows[-1]["sort_key"], rows[-1]["id"]) if more and rows else None
    return models.ProjectPage(items=items, next_cursor=next_cursor, total=total)


async def project_detail(conn: asyncpg.Connection, build: Build, project_id: str) -> models.ProjectDetail | None:
    row = await conn.fetchrow(f"SELECT * FROM {build.projects} p WHERE p.id = $1", project_id)
    if row is None:
        return None
    stages = await conn.fetch(f"SELECT * FROM {build.project_stages} t WHERE t.project_id = $1 "
                              "ORDER BY t.opened_on NULLS LAST, t.stage", project_id)
    blockers = await conn.fetch(f"SELECT * FROM {build.project_blockers} b WHERE b.project_id = $1 "
                                "ORDER BY b.raised_on NULLS LAST, b.blocker_id", project_id)
    history = await conn.fetch(
        f"SELECT seq, idx, type, source, actor, occurred_at, recorded_at, event_id, commit_hash, payload::text "
        f"AS payload FROM {build.archive} a WHERE a.project_id = $1 ORDER BY seq, idx", project_id)
    return models.ProjectDetail(
        project=msgspec.convert(flags(row), models.Project),
        stages=[msgspec.convert(flags(s), models.Stage) for s in stages],
        blockers=[msgspec.convert(flags(b), models.Blocker) for b in blockers],
        deadlines=await project_deadlines(conn, build, project_id),
        history=[models.HistoryEntry(**{**dict(h), "payload": msgspec.json.decode(h["payload"])}) for h in history],
    )
