"""Departments' monthly figures and ranking (红黑榜), permits by kind, the overview, the builds catalog."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.datastructures import State
from litestar.params import QueryParameter

from services.api import models_figures as mf
from services.api.auth import require
from services.api.queries import figures
from services.api.reading import OptStr, parse_month, reading
from services.api.routes.projects import Schema

Month = Annotated[str | None, QueryParameter(description="YYYY-MM")]
Year = Annotated[int | None, QueryParameter(ge=2000, le=2100)]


class FiguresController(Controller):
    path = "/api/v1"
    guards = [require("viewer")]  # noqa: RUF012
    tags = ["figures"]  # noqa: RUF012

    @get("/departments/months", summary="Departments' monthly completions, on-time and early rates, rank")
    async def department_months(self, state: State, month: Month = None, year: Year = None,
                                department: OptStr = None, schema: Schema = None) -> list[mf.DepartmentMonth]:
        m = parse_month("month", month)
        async with reading(state, schema) as (conn, build):
            return await figures.department_months(conn, build, month=m, department=department, year=year)

    @get("/departments/ranking", summary="The month's ranking with the red and black lists (default: this month)")
    async def ranking(self, state: State, month: Month = None, schema: Schema = None) -> mf.Ranking:
        m = parse_month("month", month)
        async with reading(state, schema) as (conn, build):
            return await figures.ranking(conn, build, m)  # m None: this month

    @get("/permits", summary="Permits and other documents issued, by kind, with land and floor areas")
    async def permits(self, state: State, year: Year = None, month: Month = None, district: OptStr = None,
                      kind: OptStr = None, schema: Schema = None) -> mf.PermitFigures:
        m = parse_month("month", month)
        async with reading(state, schema) as (conn, build):
            return await figures.permits(conn, build, year=year, month=m, district=district, kind=kind)

    @get("/overview", summary="Projects by the nine categories, overdue items, blockers, this month's ranking")
    async def overview(self, state: State, schema: Schema = None) -> mf.Overview:
        async with reading(state, schema) as (conn, build):
            return await figures.overview(conn, build)

    @get("/builds", summary="The catalog's ledger builds: the live one and the audit (as-of) builds")
    async def builds(self, state: State) -> list[mf.Build]:
        async with reading(state, None) as (conn, _):
            rows = await conn.fetch(
                "SELECT b.name, b.kind, b.status, b.name = l.schema AS live, b.as_of, b.as_of_by, b.built_to_seq, "
                "b.finished_at FROM ledger_meta.builds b LEFT JOIN ledger_meta.live l ON l.id = 1 "
                "WHERE b.status <> 'dropped' ORDER BY b.created_at")
        return [mf.Build(**{**dict(r), "live": bool(r["live"])}) for r in rows]
