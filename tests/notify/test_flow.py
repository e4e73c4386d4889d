"""A deadline's alerts through the real log, Postgres and loopback receivers, with a controllable clock."""

from __future__ import annotations

import datetime as dt
import functools

import asyncpg

from contracts import events as ev
from ledger.clock import local_date
from ledger.eventlog import EventLog
from services.notify.policy import AlertPolicy
from tests.factories import calendar_2027
from tests.notify.conftest import ManualClock, Replica, routes_config
from tests.notify.history import append, opened, received
from tests.notify.receivers import Receivers
from tests.notify.steps import START, alert_events, at_local, caught_up, fire_days, move_to, states
from tests.waiting import eventually

WORD = {"escalation": "催办", "yellow": "黄色", "red": "红色", "overdue": "逾期"}
EXPECTED = {dt.date(2026, 9, 28): "yellow", dt.date(2026, 9, 30): "red", dt.date(2026, 10, 8): "overdue",
            dt.date(2026, 10, 10): "escalation"}


async def test_yellow_red_overdue_escalation_each_once_on_its_working_day_across_national_day(
        log: EventLog, replica: Replica, receivers: Receivers, db: asyncpg.Connection, schema: str) -> None:
    await append(log, "P1", received(), opened())
    clock = ManualClock(START)
    async with replica(routes_config(receivers), clock, AlertPolicy(escalate_after_days=2)) as n:
        await caught_up(n, log)
        day = dt.date(2026, 9, 22)
        while day <= dt.date(2026, 10, 14):
            await move_to(clock, n, at_local(day, 8, 59, 59))
            before = len(receivers.got)
            await move_to(clock, n, at_local(day, 9))
            want = EXPECTED.get(day)
            if want is not None:
                await eventually(functools.partial(_more_than, receivers, before), what=f"{want} on {day}")
                assert len(receivers.got) == before + 1, f"{day}: {receivers.texts()[before:]}"
                assert WORD[want] in receivers.got[-1].text
            else:
                assert len(receivers.got) == before, f"{day}: unexpected {receivers.texts()[before:]}"
            day += dt.timedelta(days=1)
        assert [r.kind for r in receivers.got] == ["wecom", "wecom", "wecom", "dingtalk"]
        assert "王副局长" in receivers.got[-1].text and not receivers.errors
        records = await eventually(lambda: _records(log, 4), what="four AlertSent records")
        assert {local_date(r.sent_at): r.level for r in records if isinstance(r, ev.AlertSent)} == EXPECTED
        assert set((await states(db, schema)).values()) == {"sent"}


async def _more_than(receivers: Receivers, count: int) -> bool:
    return len(receivers.got) > count


async def _records(log: EventLog, count: int) -> list[ev.AlertSent | ev.AlertFailed] | None:
    found = await alert_events(log, "P1")
    return found if len(found) >= count else None


async def test_suspension_holds_alerts_and_resumption_moves_them(
        log: EventLog, replica: Replica, receivers: Receivers, db: asyncpg.Connection, schema: str) -> None:
    await append(log, "P1", received(), opened())
    clock = ManualClock(START)
    async with replica(routes_config(receivers), clock) as n:
        await caught_up(n, log)
        await append(log, "P1", ev.ClockSuspended(stage="site_selection", reason="expert_review",
                                                  suspended_on=dt.date(2026, 9, 22)))
        await caught_up(n, log)
        await move_to(clock, n, at_local(dt.date(2026, 10, 20), 12))
        assert receivers.got == []  # suspended: nothing fires, however late it gets
        await append(log, "P1", ev.ClockResumed(stage="site_selection", resumed_on=dt.date(2026, 10, 20),
                                                suspended_working_days=15, remaining_days=5,
                                                due_on=dt.date(2026, 10, 27), rule="test"))
        await caught_up(n, log)
        assert receivers.got == []  # the new levels lie ahead
        await move_to(clock, n, at_local(dt.date(2026, 10, 27), 9))
        await eventually(functools.partial(_more_than, receivers, 0), what="red on the new due day")
        assert len(receivers.got) == 1
        assert "2026-10-27" in receivers.got[0].text and "红色" in receivers.got[0].text


async def test_an_extension_moves_the_alerts_and_completion_cancels_them(
        log: EventLog, replica: Replica, receivers: Receivers, db: asyncpg.Connection, schema: str) -> None:
    await append(log, "P1", received(), opened())
    await append(log, "P2", received("另一个项目", leader=""), opened(department="规划科"))
    clock = ManualClock(START)
    async with replica(routes_config(receivers), clock) as n:
        await caught_up(n, log)
        await append(log, "P1", ev.DeadlineExtended(stage="site_selection", extra_days=5, approved_by="局长",
                                                    reason="专家论证", due_on=dt.date(2026, 10, 14)))
        await append(log, "P2", ev.StagePassed(stage="site_selection", passed_on=dt.date(2026, 9, 25),
                                               working_days_used=3, on_time=True, early=True))
        await caught_up(n, log)
        await move_to(clock, n, at_local(dt.date(2026, 9, 30), 9))
        assert receivers.got == []  # P1's red moved to 10-14; P2 passed: its alerts are cancelled
        await move_to(clock, n, at_local(dt.date(2026, 10, 14), 9))
        await eventually(functools.partial(_more_than, receivers, 0), what="red on the extended due day")
        assert len(receivers.got) == 1
        assert "P1" in receivers.got[0].text and "2026-10-14" in receivers.got[0].text
        rows = await db.fetch(f"SELECT project_id, level, state FROM {schema}.alerts ORDER BY 1, 2, 3")
        assert {(r["project_id"], r["state"]) for r in rows} >= {("P2", "cancelled"), ("P1", "cancelled"),
                                                                 ("P1", "sent")}
        assert not any(r["project_id"] == "P2" and r["state"] not in ("cancelled",) for r in rows)


async def test_publishing_next_years_calendar_plans_the_levels_that_fell_in_it(
        log: EventLog, replica: Replica, receivers: Receivers, db: asyncpg.Connection, schema: str) -> None:
    # Due on 2026-12-29: overdue on 12-30, escalation 3 working days later falls in 2027, which has no
    # published calendar yet, so it cannot be planned. Publishing 2027 must plan it (Jan 1 a holiday).
    await append(log, "P1", received(), opened(on=dt.date(2026, 12, 21), due=dt.date(2026, 12, 29)))
    clock = ManualClock(at_local(dt.date(2026, 12, 21), 10))
    async with replica(routes_config(receivers), clock) as n:
        await caught_up(n, log)
        assert await fire_days(db, schema) == {"yellow": dt.date(2026, 12, 25), "red": dt.date(2026, 12, 29),
                                               "overdue": dt.date(2026, 12, 30)}
        await log.append(calendar_2027(), expected_version=0)
        await caught_up(n, log)
        assert await fire_days(db, schema) == {"yellow": dt.date(2026, 12, 25), "red": dt.date(2026, 12, 29),
                                               "overdue": dt.date(2026, 12, 30), "escalation": dt.date(2027, 1, 5)}
        assert set((await states(db, schema)).values()) == {"pending"}
