"""Departments' monthly figures, the red/black ranking, permits by kind, and the overview counts."""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg
import msgspec

from ledger.classify import CATEGORIES
from services.api import models_figures as mf
from services.api.builds import Build

RED_SIZE = 3  # the red list: the best-ranked departments with nothing late and nothing overdue


async def this_month(conn: asyncpg.Connection, build: Build) -> dt.date:
    """The month of the day `build` is judged on: an audit build's as-of day (known since resolve(), so no
    read), else today (Postgres's, in the request's snapshot: one read)."""
    if build.as_of_day is not None:
        return build.as_of_day.replace(day=1)
    return await conn.fetchval(f"SELECT date_trunc('month', {build.today})::date")  # type: ignore[no-any-return]


async def department_months(conn: asyncpg.Connection, build: Build, *, month: dt.date | None,
                            department: str | None, year: int | None) -> list[mf.DepartmentMonth]:
    args: list[Any] = []
    conditions = []
    for expr, value in (("d.month", month), ("d.department", department),
                        ("extract(year FROM d.month)::int", year)):
        if value is not None:
            args.append(value)
            conditions.append(f"{expr} = ${len(args)}")
    sql = (f"SELECT d.department, d.month, d.completed, d.on_time, d.early, d.late, d.working_days, "
           f"d.on_time_rate::float8 AS on_time_rate, d.early_rate::float8 AS early_rate, d.rank::int AS rank "
           f"FROM {build.department_month} d" + (" WHERE " + " AND ".join(conditions) if conditions else "")
           + " ORDER BY d.month DESC, d.rank, d.department")
    return [msgspec.convert(dict(r), mf.DepartmentMonth) for r in await conn.fetch(sql, *args)]


async def ranking(conn: asyncpg.Connection, build: Build, month: dt.date | None = None) -> mf.Ranking:
    """Completed work of the month (default: the build's current month) ranked by on-time rate, early rate,
    volume; plus what is overdue now.

    Black list (黑榜): every department with a late completion in the month — and, for the current
    month, one with a stage overdue right now. Red list (红榜): the first RED_SIZE ranks among the
    departments that completed work and are not on the black list. Past months are judged on their own
    completions only: what is overdue today says nothing about March.
    """
    now = await this_month(conn, build)  # once: it is both the default month and what `current` compares with
    month = now if month is None else month
    current = month == now
    rows = await conn.fetch(f"""
        WITH figures AS (SELECT * FROM {build.department_month} d WHERE d.month = $1),
             overdue AS (SELECT t.department, count(*) AS n FROM {build.project_stages} t
                         WHERE t.overdue GROUP BY t.department)
        SELECT COALESCE(f.department, o.department) AS department, COALESCE(f.completed, 0) AS completed,
               COALESCE(f.on_time, 0) AS on_time, COALESCE(f.early, 0) AS early, COALESCE(f.late, 0) AS late,
               f.on_time_rate::float8 AS on_time_rate, f.early_rate::float8 AS early_rate,
               COALESCE(o.n, 0)::int AS open_overdue
        FROM figures f FULL JOIN overdue o ON o.department = f.department
        ORDER BY f.on_time_rate DESC NULLS LAST, f.early_rate DESC NULLS LAST, COALESCE(f.completed, 0) DESC,
                 COALESCE(o.n, 0), 1""", month)
    out: list[mf.RankedDepartment] = []
    reds = 0
    for i, r in enumerate(rows, start=1):
        black = r["late"] > 0 or (current and r["open_overdue"] > 0)
        mark = "black" if black else ""
        if not black and r["completed"] > 0 and reds < RED_SIZE:
            mark, reds = "red", reds + 1
        out.append(mf.RankedDepartment(rank=i, list=mark, **dict(r)))
    return mf.Ranking(month=month, departments=out)


async def permits(conn: asyncpg.Connection, build: Build, *, year: int | None, month: dt.date | None,
                  district: str | None, kind: str | None) -> mf.PermitFigures:
    args: list[Any] = []
    conditions = []
    for expr, value in (("extract(year FROM m.month)::int", year), ("m.month", month),
                        ("m.district", district), ("m.kind", kind)):
        if value is not None:
            args.append(value)
            conditions.append(f"{expr} = ${len(args)}")
    rows = await conn.fetch(
        f"SELECT m.kind, sum(m.issued)::int AS issued, sum(m.land_area_m2)::float8 AS land_area_m2, "
        f"sum(m.floor_area_m2)::float8 AS floor_area_m2 FROM {build.permits} m"
        + (" WHERE " + " AND ".join(conditions) if conditions else "") + " GROUP BY m.kind ORDER BY m.kind", *args)
    by_kind = [msgspec.convert(dict(r), mf.PermitKind) for r in rows]
    return mf.PermitFigures(year=year, month=month, by_kind=by_kind, total_issued=sum(k.issued for k in by_kind))


async def overview(conn: asyncpg.Connection, build: Build) -> mf.Overview:
    """One scan of the projects (grouped by category) and one of the open stages (the ranking's overdue
    counts, whose sum is every overdue stage): the overview costs two aggregates, not five."""
    done = "category IN ('permit_done', 'land_secured') AND cardinality(open_stages) = 0"
    rows = await conn.fetch(f"""
        SELECT category, count(*) FILTER (WHERE NOT withdrawn) AS projects,
               count(*) FILTER (WHERE withdrawn) AS withdrawn,
               count(*) FILTER (WHERE overdue) AS overdue,
               count(*) FILTER (WHERE key_project AND NOT withdrawn) AS key_total,
               count(*) FILTER (WHERE key_project AND NOT withdrawn AND {done}) AS key_done,
               count(*) FILTER (WHERE key_project AND NOT withdrawn AND NOT ({done})
                                AND (overdue OR open_gov_blockers + open_ent_blockers > 0)) AS key_follow_up
        FROM {build.projects} p GROUP BY category""")
    total = {k: sum(int(r[k]) for r in rows) for k in ("projects", "withdrawn", "overdue", "key_total", "key_done",
                                                        "key_follow_up")}
    cats = {r["category"]: int(r["projects"]) for r in rows}
    blockers = await conn.fetch(f"SELECT side, cause, count(*)::int AS count, count(*) FILTER (WHERE overdue) AS od "
                                f"FROM {build.project_blockers} b WHERE status = 'open' GROUP BY side, cause "
                                "ORDER BY side DESC, count DESC, cause")
    month = await ranking(conn, build)  # this month
    key = {"total": total["key_total"], "done": total["key_done"], "follow_up": total["key_follow_up"]}
    key["in_progress"] = key["total"] - key["done"] - key["follow_up"]
    return mf.Overview(
        projects=total["projects"], withdrawn=total["withdrawn"],
        by_category=[mf.Count(key=code, count=cats.get(code, 0)) for code, _, _ in CATEGORIES],
        key_projects=key, overdue_projects=total["overdue"],
        overdue_stages=sum(d.open_overdue for d in month.departments),
        overdue_blockers=sum(int(b["od"]) for b in blockers),
        open_blockers=[mf.BlockerCount(side=b["side"], cause=b["cause"], count=b["count"]) for b in blockers],
        ranking=month,
    )
