"""A full replay (the view rebuilt from sequence 1 in a fresh schema) never sends: the log says what was sent."""

from __future__ import annotations

import datetime as dt
import uuid

import asyncpg

from ledger.eventlog import EventLog
from services.notify.app import running
from services.notify.policy import AlertPolicy
from tests.notify.conftest import ManualClock, Replica, routes_config
from tests.notify.history import append, opened, received
from tests.notify.receivers import Receivers
from tests.notify.steps import alert_events, at_local, caught_up, settled
from tests.waiting import eventually


async def test_rebuilding_the_view_from_the_start_sends_nothing_already_on_the_record(
        log: EventLog, replica: Replica, receivers: Receivers, database_url: str,
        db: asyncpg.Connection) -> None:
    await append(log, "P1", received(), opened())
    clock = ManualClock(at_local(dt.date(2026, 9, 21), 10))
    config = routes_config(receivers)
    async with replica(config, clock) as n:
        await caught_up(n, log)
        clock.set(at_local(dt.date(2026, 9, 28), 9))
        await eventually(lambda: alert_events(log, "P1"), what="yellow on the record")
        clock.set(at_local(dt.date(2026, 9, 30), 9))
        await eventually(lambda: _count(log, 2), what="red on the record")
    assert len(receivers.got) == 2
    fresh = "n_" + uuid.uuid4().hex[:12]
    try:
        async with running(log, database_url, schema=fresh, config=config, policy=AlertPolicy(), clock=clock) as r:
            await caught_up(r, log)
            await settled(r)
            rows = dict(await db.fetch(f"SELECT level, state FROM {fresh}.alerts WHERE target = 'dept_wecom'"))
        assert rows == {"yellow": "sent", "red": "sent", "overdue": "pending"}
        assert len(receivers.got) == 2
    finally:
        await db.execute(f"DROP SCHEMA IF EXISTS {fresh} CASCADE")


async def _count(log: EventLog, n: int) -> bool:
    return len(await alert_events(log, "P1")) >= n
