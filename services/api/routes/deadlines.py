"""GET /api/v1/deadlines (open and overdue time limits) and GET /api/v1/alerts (alerts sent or failed)."""

from __future__ import annotations

from typing import Any, get_args

import msgspec
from litestar import Controller, get
from litestar.datastructures import State

from contracts.types import AlertLevel, DeadlineKind
from services.api import models
from services.api.auth import require
from services.api.errors import bad_parameter
from services.api.paging import decode_cursor, encode_cursor
from services.api.queries.deadlines import list_deadlines
from services.api.reading import OptBool, OptStr, one_of, reading
from services.api.routes.projects import Limit, Schema


class DeadlinesController(Controller):
    path = "/api/v1"
    guards = [require("viewer")]  # noqa: RUF012
    tags = ["deadlines"]  # noqa: RUF012

    @get("/deadlines", summary="Open deadlines, most urgent first; overdue=true for the overdue ones")
    async def deadlines(self, state: State, overdue: OptBool = None, kind: OptStr = None,
                        department: OptStr = None, limit: Limit = 100, cursor: OptStr = None,
                        schema: Schema = None) -> models.DeadlinePage:
        one_of("kind", kind, get_args(DeadlineKind))
        async with reading(state, schema) as (conn, build):
            return await list_deadlines(conn, build, overdue=overdue, kind=kind, department=department,
                                        limit=limit, cursor=cursor)

    @get("/alerts", summary="Deadline alerts sent (or failed), newest first")
    async def alerts(self, state: State, project_id: OptStr = None, level: OptStr = None,
                     status: OptStr = None, limit: Limit = 100, cursor: OptStr = None,
                     schema: Schema = None) -> models.AlertPage:
        one_of("level", level, get_args(AlertLevel))
        one_of("status", status, ("sent", "failed"))
        args: list[Any] = []
        conditions = []
        for column, value in (("project_id", project_id), ("level", level), ("status", status)):
            if value is not None:
                args.append(value)
                conditions.append(f"a.{column} = ${len(args)}")
        if cursor is not None:
            c = decode_cursor(cursor, "-seq")
            if not isinstance(c.value, int) or not c.id.isdigit():
                raise bad_parameter("cursor", "not a cursor this API returned")
            args += [c.value, int(c.id)]
            conditions.append(f"(a.seq, a.idx) < (${len(args) - 1}, ${len(args)})")
        async with reading(state, schema) as (conn, build):
            rows = await conn.fetch(
                f"SELECT * FROM {build.alerts} a" + (" WHERE " + " AND ".join(conditions) if conditions else "")
                + f" ORDER BY a.seq DESC, a.idx DESC LIMIT {limit + 1}", *args)
        more = len(rows) > limit
        rows = rows[:limit]
        items = [msgspec.convert(dict(r), models.Alert) for r in rows]
        cursor_out = encode_cursor("-seq", rows[-1]["seq"], str(rows[-1]["idx"])) if more and rows else None
        return models.AlertPage(items=items, next_cursor=cursor_out)
