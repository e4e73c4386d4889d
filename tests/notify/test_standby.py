"""A standby replica that takes the view over plans with the calendar in force, not the one it started with."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools

import asyncpg

from ledger.eventlog import EventLog
from tests.factories import calendar_2027
from tests.notify.conftest import ManualClock, Replica, routes_config
from tests.notify.history import append, opened, received
from tests.notify.receivers import Receivers
from tests.notify.steps import at_local, caught_up, fire_days
from tests.waiting import eventually, waiting_on_lock


async def test_a_standby_that_takes_over_plans_with_a_calendar_published_while_it_stood_by(
        log: EventLog, replica: Replica, receivers: Receivers, db: asyncpg.Connection, schema: str) -> None:
    config = routes_config(receivers)
    clock = ManualClock(at_local(dt.date(2026, 12, 21), 10))
    async with contextlib.AsyncExitStack() as active_replica:
        active = await active_replica.enter_async_context(replica(config, clock))
        await caught_up(active, log)
        async with replica(config, clock) as standby:
            view_lock = functools.partial(waiting_on_lock, db, standby.projector.conn.get_server_pid(),
                                          event="advisory")
            await eventually(view_lock, what="the second replica on standby")
            await log.append(calendar_2027(), expected_version=0)
            await caught_up(active, log)  # the shared position is past the calendar commit
            await active_replica.aclose()  # the active replica stops: its session and its lock go with it
            # Due 2026-12-29: the escalation (3 working days after overdue on 12-30) falls in 2027.
            await append(log, "P1", received(), opened(on=dt.date(2026, 12, 21), due=dt.date(2026, 12, 29)))
            await caught_up(standby, log)
            planned = await fire_days(db, schema)
    assert planned == {
        "yellow": dt.date(2026, 12, 25), "red": dt.date(2026, 12, 29), "overdue": dt.date(2026, 12, 30),
        "escalation": dt.date(2027, 1, 5)}  # Jan 1 a holiday in the published 2027 calendar
