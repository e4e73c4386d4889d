"""A receiver down or slow: retries with backoff, then AlertFailed on the record; a robot's rate limit: a digest."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import asyncpg
import pytest

from contracts import events as ev
from ledger.eventlog import EventLog
from services.notify.delivery import Claimed
from tests.faults import Fault, faulty
from tests.notify.conftest import ManualClock, Replica, routes_config
from tests.notify.history import append, opened, received
from tests.notify.receivers import Receivers
from tests.notify.steps import START, alert_events, alert_row, alert_state, at_local, caught_up, move_to
from tests.waiting import eventually


async def test_a_receiver_that_stays_down_gets_retries_then_alert_failed_on_the_record(
        log: EventLog, replica: Replica, receivers: Receivers, db: asyncpg.Connection, schema: str) -> None:
    await append(log, "P1", received(), opened())
    receivers.mode = "down"
    clock = ManualClock(START)
    async with replica(routes_config(receivers, attempts=3), clock) as n:
        await caught_up(n, log)
        await move_to(clock, n, at_local(dt.date(2026, 9, 28), 9))

        async def failed() -> list[ev.AlertSent | ev.AlertFailed]:
            return await alert_events(log, "P1")
        [record] = await eventually(failed, what="AlertFailed recorded")
        assert isinstance(record, ev.AlertFailed) and record.attempts == 3 and "503" in record.error
        assert receivers.hits == 3

        async def settled_row() -> bool:
            row = await alert_row(db, schema, "state", "attempts")
            return row is not None and tuple(row) == ("failed", 3)
        await eventually(settled_row, what="row settled as failed after 3 attempts")


async def test_a_slow_receiver_times_out_and_is_retried(
        log: EventLog, replica: Replica, receivers: Receivers) -> None:
    await append(log, "P1", received(), opened())
    receivers.mode, receivers.slow_seconds = "slow", 3.0  # the client's timeout is 1 s
    clock = ManualClock(START)
    async with replica(routes_config(receivers, attempts=2, timeout=1.0), clock) as n:
        await caught_up(n, log)
        await move_to(clock, n, at_local(dt.date(2026, 9, 28), 9))

        async def failed() -> list[ev.AlertSent | ev.AlertFailed]:
            return await alert_events(log, "P1")
        [record] = await eventually(failed, within=30, what="AlertFailed after timeouts")
        assert isinstance(record, ev.AlertFailed) and record.attempts == 2 and "timeout" in record.error


async def test_over_the_robots_rate_limit_pending_alerts_go_out_as_one_digest(
        log: EventLog, replica: Replica, receivers: Receivers) -> None:
    for i in range(10):
        await append(log, f"A{i}", received(f"项目A{i}"), opened(due=dt.date(2026, 9, 29)))
    for i in range(25):
        await append(log, f"B{i}", received(f"项目B{i}"), opened(due=dt.date(2026, 9, 30)))
    clock = ManualClock(START)
    async with replica(routes_config(receivers, rate=20), clock) as n:
        await caught_up(n, log)
        await move_to(clock, n, at_local(dt.date(2026, 9, 29), 9))  # A's red (10) and B's yellow (25) are due
        await eventually(lambda: _all_sent(log), what="all 35 alerts delivered and recorded")
        assert len(receivers.got) <= 20, "the robot's 20 messages per minute were exceeded"
        assert any("汇总" in r.text for r in receivers.got)
        assert n.workers["dept_wecom"].digests >= 1


async def _all_sent(log: EventLog) -> bool:
    projects = [f"A{i}" for i in range(10)] + [f"B{i}" for i in range(25)]
    return all([len(await _sent(log, p)) == 1 for p in projects])


async def _sent(log: EventLog, project_id: str) -> list[ev.AlertSent]:
    return [e for e in await alert_events(log, project_id) if isinstance(e, ev.AlertSent)]


async def test_a_slow_receiver_makes_the_scheduler_claim_no_more_than_the_queues_can_hold(
        log: EventLog, replica: Replica, receivers: Receivers, monkeypatch: pytest.MonkeyPatch) -> None:
    for i in range(30):
        await append(log, f"S{i}", received(f"项目S{i}"), opened(due=dt.date(2026, 9, 29)))
    receivers.mode, receivers.slow_seconds = "slow", 0.1  # answers, slowly (timeout is 1 s)
    clock = ManualClock(START)
    config = routes_config(receivers, transport={"backoff_initial": 0.05, "backoff_max": 0.2, "timeout_seconds": 1.0,
                                                 "concurrency": 2, "max_pending": 5, "breaker_failures": 100})
    async with replica(config, clock) as n:
        await caught_up(n, log)
        most = 0  # the most claimed-but-undelivered alerts this replica ever held: counted at every hand-over

        def counting(offer: Callable[[Claimed], None]) -> Callable[[Claimed], None]:
            def offer_and_count(claimed: Claimed) -> None:
                nonlocal most
                offer(claimed)
                most = max(most, n.scheduler.pending())
            return offer_and_count

        for worker in n.workers.values():
            monkeypatch.setattr(worker, "offer", counting(worker.offer))
        await move_to(clock, n, at_local(dt.date(2026, 9, 29), 9))  # 30 red alerts due at once
        await eventually(lambda: _all_sent_s(log), within=60, what="all 30 delivered and recorded")
        assert 0 < most <= 5
        assert len({r.body["markdown"]["content"] for r in receivers.got}) == 30  # each once


async def _all_sent_s(log: EventLog) -> bool:
    return all([len(await _sent(log, f"S{i}")) == 1 for i in range(30)])


async def test_a_record_that_times_out_is_retried_at_once_not_left_to_lease_recovery(
        log: EventLog, replica: Replica, receivers: Receivers, db: asyncpg.Connection,
        schema: str) -> None:
    await append(log, "R1", received(), opened())
    clock = ManualClock(START)
    async with replica(routes_config(receivers), clock) as n:  # lease 300 s: recovery would come far too late
        loads = Fault(TimeoutError("nats: timeout"), times=1)  # the first project load: a busy server
        n.recorder.log = faulty(n.recorder.log, load_project=loads)
        await caught_up(n, log)
        await move_to(clock, n, at_local(dt.date(2026, 9, 28), 9))

        async def recorded() -> bool:
            return await alert_state(db, schema) == "sent"
        await eventually(recorded, within=15, what="the yellow alert recorded after one timed-out load")
        assert loads.failed == 1
        assert [type(e) for e in await alert_events(log, "R1")] == [ev.AlertSent]
        assert len(receivers.got) == 1
