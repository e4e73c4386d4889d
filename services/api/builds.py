"""Which ledger build a request reads: the live views, or an audit build named by `schema=`.

A name is only used after the catalog (`ledger_meta.builds`) confirms a ready build of that name,
and then only through `schema.q()`, which re-checks it: nothing unchecked reaches the SQL.
The live views compute `overdue` (and the ranking); for a named build the same SELECTs
(`catalog.judged`) are used as subqueries, judged on its as-of day, so every query sees one shape
whichever build it reads.
"""

from __future__ import annotations

import datetime as dt

import asyncpg
import msgspec

from ledger.projection import catalog
from ledger.projection.schema import q
from services.api.errors import ApiError, bad_parameter


def judged_on(day: dt.date | None) -> str:
    """SQL for the day a build's figures are judged on: its as-of day (Shanghai) for an audit build, else
    today. "Overdue on 1 March" means overdue then, not now: an item due on 10 March and passed on 8 March
    was not overdue on 1 March, though it is open in that build and 10 March is past.

    `day` comes from the catalog (resolve() reads it with the build's status) as a date, never from request
    text; its ISO form is digits and dashes only, so the literal needs no quoting beyond its own quotes."""
    if day is None:
        return catalog.TODAY
    if type(day) is not dt.date:  # a datetime is a date too, and its isoformat() carries a time
        raise TypeError(f"the as-of day must be a datetime.date, not {type(day).__name__}")
    return f"'{day.isoformat()}'::date"


class Build(msgspec.Struct, frozen=True, kw_only=True):
    """The relations (FROM fragments) of one build, keyed by table name."""

    name: str | None  # None = the live views
    projects: str
    project_stages: str
    project_blockers: str
    department_month: str
    permits: str
    alerts: str
    archive: str
    as_of_day: dt.date | None = None  # the day overdue is judged on when the build fixes it (an audit build's)

    @property
    def today(self) -> str:
        """SQL: the day overdue is judged on (as_of_day, else today)."""
        return judged_on(self.as_of_day)


LIVE = Build(
    name=None, projects="ledger.projects", project_stages="ledger.project_stages",
    project_blockers="ledger.project_blockers", department_month="ledger.department_month",
    permits="ledger.permits", alerts="ledger.alerts", archive="ledger.archive",
)


def named(schema: str, *, as_of_day: dt.date | None) -> Build:
    """The relations of the build `schema`, judged on `as_of_day` (its as-of day in Asia/Shanghai, from the
    catalog), or on today when the build has none (e.g. a full rebuild named explicitly).

    The fragments read nothing from the catalog: the day is a literal, so a query does not re-read
    `ledger_meta.builds` once per fragment it uses."""
    s = q(schema)
    selects = catalog.judged(schema, judged_on(as_of_day))
    return Build(
        name=schema,
        projects=f"({selects['projects']})",
        project_stages=f"({selects['project_stages']})",
        project_blockers=f"({selects['project_blockers']})",
        department_month=f"({selects['department_month']})",
        permits=f"{s}.permits",
        alerts=f"{s}.alerts",
        archive=f"{s}.archive",
        as_of_day=as_of_day,
    )


async def resolve(conn: asyncpg.Connection, schema: str | None) -> Build:
    """LIVE for no name; the named build when the catalog holds it ready; else a 400 naming `schema`."""
    if schema is None or schema == "":
        return LIVE
    if len(schema) > 63:
        raise bad_parameter("schema", "a build name has at most 63 characters")
    # One round trip reads the build's catalog row; nothing after it reads the catalog again: the as-of day
    # goes into the fragments as a literal.
    try:
        as_of_day = await catalog.readable_build(conn, schema)
    except catalog.Unreadable as exc:
        raise bad_parameter("schema", f"{exc} (see /api/v1/builds)") from None
    try:
        return named(schema, as_of_day=as_of_day)
    except ValueError as exc:  # the catalog should never hold such a name; refuse rather than quote it
        raise bad_parameter("schema", str(exc)) from None


async def live_ready(conn: asyncpg.Connection) -> bool:
    """The catalog exists and points at a live build."""
    exists = await conn.fetchval("SELECT to_regclass('ledger_meta.live') IS NOT NULL")
    if not exists:
        return False
    return bool(await conn.fetchval("SELECT count(*) FROM ledger_meta.live"))


def unavailable(message: str) -> ApiError:
    return ApiError(503, "unavailable", message)
