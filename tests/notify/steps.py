"""Stepping a notify replica through days with a controllable clock, and reading what it did."""

from __future__ import annotations

import datetime as dt

import asyncpg

from contracts.events import AlertFailed, AlertSent
from ledger.clock import BUREAU_TZ
from ledger.eventlog import EventLog
from services.notify.app import Notify
from tests.notify.conftest import ManualClock
from tests.waiting import eventually


def at_local(day: dt.date, hh: int = 9, mm: int = 0, ss: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hh, mm, ss, tzinfo=BUREAU_TZ).astimezone(dt.UTC)


START = at_local(dt.date(2026, 9, 21), 10)  # a Monday before the deadlines of tests.notify.history
YELLOW = at_local(dt.date(2026, 9, 28), 9)  # when the yellow alert of opened()'s default due date fires


async def caught_up(n: Notify, log: EventLog, *, idle: bool = True) -> None:
    """The view holds every commit in the log, and the scheduler has looked since."""
    last = await log.last_seq()

    async def probe() -> bool:
        return await n.position() >= last and n.caught_up.is_set()

    await eventually(probe, what=f"view at seq {last}")
    await settled(n, idle=idle)


async def settled(n: Notify, *, within: float = 10.0, idle: bool = True) -> None:
    """One scheduler round after now, and (when idle) nothing in flight."""
    ticks = n.scheduler.ticks
    n.scheduler.wake()

    async def probe() -> bool:
        if n.scheduler.ticks <= ticks:
            return False
        if not idle:
            return True
        async with n.scheduler.pool.acquire() as conn:
            busy = await conn.fetchval(f"SELECT count(*) FROM {n.scheduler.schema}.alerts WHERE state = 'sending'")
        return bool(busy == 0)

    await eventually(probe, within=within, what="scheduler settled")


async def move_to(clock: ManualClock, n: Notify, at: dt.datetime) -> None:
    clock.set(at)
    await settled(n)


async def states(db: asyncpg.Connection, schema: str) -> dict[str, str]:
    rows = await db.fetch(f"SELECT level, state FROM {schema}.alerts WHERE deadline_id <> '' ORDER BY alert_key")
    return {f"{r['level']}": r["state"] for r in rows}


async def alert_state(db: asyncpg.Connection, schema: str, level: str = "yellow") -> str | None:
    """The state of the alert of `level` (the tests' one project has one per level); None if there is none."""
    state = await db.fetchval(f"SELECT state FROM {schema}.alerts WHERE level = $1", level)
    return None if state is None else str(state)


async def alert_row(db: asyncpg.Connection, schema: str, *columns: str, level: str = "yellow") -> asyncpg.Record | None:
    """`columns` of the alert of `level` (see alert_state); None if there is none."""
    return await db.fetchrow(f"SELECT {', '.join(columns)} FROM {schema}.alerts WHERE level = $1", level)


async def fire_days(db: asyncpg.Connection, schema: str) -> dict[str, dt.date]:
    """Each pending alert's level and the day it is planned to fire."""
    rows = await db.fetch(f"SELECT level, fire_on FROM {schema}.alerts WHERE state = 'pending'")
    return {r["level"]: r["fire_on"] for r in rows}


async def alert_events(log: EventLog, project_id: str) -> list[AlertSent | AlertFailed]:
    loaded = await log.load_project(project_id)
    return [e.event for r in loaded.records for e in r.commit.events if isinstance(e.event, AlertSent | AlertFailed)]
