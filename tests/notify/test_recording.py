"""An alert delivered while its record cannot be appended is recorded later and never sent again.

The recorder holds such an outcome and tries again (the scheduler's lease recovery leaves held keys
alone); a stop gives what was delivered a few seconds to reach the record.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

import asyncpg
import nats.errors

from contracts import events as ev
from contracts.envelope import Commit
from ledger.eventlog import AppendResult, EventLog, Loaded
from services.notify.recorder import APPEND_TRIES
from tests.notify.conftest import ManualClock, Replica, hook_only
from tests.notify.history import append, opened, received
from tests.notify.receivers import Receivers
from tests.notify.steps import START, YELLOW, alert_events, caught_up, settled
from tests.waiting import eventually

LEASE = 60.0


class _FaultyLog:
    """The event log, except that appends time out while `down` (NATS unreachable) and for the first `times`
    (or fail with `error`), and loading a project's history times out while `loads_down`."""

    def __init__(self, log: EventLog, *, down: bool = False, times: int = 0,
                 error: type[Exception] = nats.errors.TimeoutError, loads_down: bool = False) -> None:
        self.log, self.down, self.times, self.failed, self.error = log, down, times, 0, error
        self.loads_down = loads_down

    async def append(self, commit: Commit, *, expected_version: int) -> AppendResult:
        if self.down or self.failed < self.times:
            self.failed += 1
            raise self.error
        return await self.log.append(commit, expected_version=expected_version)

    async def load_project(self, project_id: str) -> Loaded:
        if self.loads_down:
            raise nats.errors.TimeoutError
        return await self.log.load_project(project_id)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.log, name)


async def test_an_alert_whose_record_cannot_be_appended_for_a_while_is_recorded_later_and_sent_once(
        log: EventLog, replica: Replica, receivers: Receivers, db: asyncpg.Connection, schema: str) -> None:
    await append(log, "P1", received(), opened())
    clock = ManualClock(START)
    async with replica(hook_only(receivers, lease=LEASE), clock) as n:
        unreachable = _FaultyLog(n.recorder.log, down=True)
        n.recorder.log = cast(EventLog, unreachable)  # duck-typed: append here, everything else delegated
        await caught_up(n, log)
        clock.set(YELLOW)

        async def tried_again() -> bool:  # the first round gives up after APPEND_TRIES; one more is a later round
            return unreachable.failed > APPEND_TRIES
        await eventually(tried_again, within=20, what="the outcome kept and its append tried again")
        clock.set(YELLOW + dt.timedelta(seconds=LEASE + 1))  # the lease runs out while the record waits
        await settled(n, idle=False)
        row = await db.fetchrow(f"SELECT state, claimed_until FROM {schema}.alerts WHERE level = 'yellow'")
        assert row is not None and row["state"] == "sending" and row["claimed_until"] > clock.now()  # renewed
        unreachable.down = False

        async def sent() -> bool:
            return bool(await db.fetchval(f"SELECT state FROM {schema}.alerts WHERE level = 'yellow'") == "sent")
        await eventually(sent, within=20, what="the yellow alert recorded once appends work again")
    assert [type(e) for e in await alert_events(log, "P1")] == [ev.AlertSent]
    assert len(receivers.got) == 1, "sent once: lease recovery left the held alert alone"


async def test_a_stop_right_after_a_delivery_still_puts_it_on_the_record(
        log: EventLog, replica: Replica, receivers: Receivers) -> None:
    await append(log, "P1", received(), opened())
    clock = ManualClock(START)
    async with replica(hook_only(receivers, lease=LEASE), clock) as n:
        slow = _FaultyLog(n.recorder.log, times=2)  # the record is still on its way when the stop comes
        n.recorder.log = cast(EventLog, slow)
        await caught_up(n, log)
        clock.set(YELLOW)

        async def delivered() -> bool:  # (its retries take ~0.6 s: time enough to stop while it is held)
            return slow.failed >= 1 and bool(n.recorder.holding)
        await eventually(delivered, what="delivered, its record held after an append timed out")
    assert len(receivers.got) == 1
    assert [type(e) for e in await alert_events(log, "P1")] == [ev.AlertSent]


async def test_an_append_that_fails_for_good_is_left_to_lease_recovery_not_held(
        log: EventLog, replica: Replica, receivers: Receivers, db: asyncpg.Connection, schema: str) -> None:
    # A commit too large for the server fails the same way every time: retrying it for ever held its alert
    # key for ever, so lease recovery (which re-checks the log) never took the alert over.
    await append(log, "P1", received(), opened())
    clock = ManualClock(START)
    async with replica(hook_only(receivers, lease=LEASE), clock) as n:
        refused = _FaultyLog(n.recorder.log, down=True, error=nats.errors.MaxPayloadError)
        n.recorder.log = cast(EventLog, refused)
        await caught_up(n, log)
        clock.set(YELLOW)

        async def given_up() -> bool:
            return refused.failed >= 1 and not n.recorder.holding
        await eventually(given_up, within=20, what="the outcome released to lease recovery")
        assert refused.failed == 1  # not retried
        state = await db.fetchval(f"SELECT state FROM {schema}.alerts WHERE level = 'yellow'")
        assert state == "sending"  # claimed until its lease runs out; recovery then checks the log


async def test_another_replica_leaves_alone_an_alert_whose_record_waits_longer_than_several_leases(
        log: EventLog, replica: Replica, receivers: Receivers, db: asyncpg.Connection, schema: str) -> None:
    # The replica that delivered the alert keeps extending its lease while the record waits. Without that,
    # at each expiry the other replica could claim the row, find no record in the log and send it again.
    await append(log, "P1", received(), opened())
    clock = ManualClock(START)
    config = hook_only(receivers, lease=LEASE)
    async with replica(config, clock) as a, replica(config, clock) as b:
        unreachable = [_FaultyLog(n.recorder.log, down=True) for n in (a, b)]
        for n, log_down in zip((a, b), unreachable, strict=True):
            n.recorder.log = cast(EventLog, log_down)  # whichever replica claims the alert cannot record it
        await caught_up(a, log)
        await caught_up(b, log)
        clock.set(YELLOW)

        async def delivered() -> bool:
            return len(receivers.got) == 1
        await eventually(delivered, what="the yellow alert delivered")
        for _ in range(6 * 4):  # six leases go by, a quarter of one at a time, each step seen by both schedulers
            ticks = a.scheduler.ticks, b.scheduler.ticks
            clock.advance(dt.timedelta(seconds=LEASE / 4))

            async def both_looked(ticks: tuple[int, int] = ticks) -> bool:
                return a.scheduler.ticks > ticks[0] and b.scheduler.ticks > ticks[1]
            await eventually(both_looked, what="both schedulers ran after the clock moved")
        assert len(receivers.got) == 1, "sent once: no replica took over the alert while its holder kept it"
        assert a.scheduler.renewed + b.scheduler.renewed >= 6
        for log_down in unreachable:
            log_down.down = False

        async def sent() -> bool:
            return bool(await db.fetchval(f"SELECT state FROM {schema}.alerts WHERE level = 'yellow'") == "sent")
        await eventually(sent, within=20, what="the yellow alert recorded once appends work again")
    assert [type(e) for e in await alert_events(log, "P1")] == [ev.AlertSent]
    assert len(receivers.got) == 1


async def test_a_replica_that_cannot_read_the_log_leaves_an_expired_lease_for_later_and_goes_on(
        log: EventLog, replica: Replica, receivers: Receivers, db: asyncpg.Connection, schema: str) -> None:
    # Lease recovery checks the log before resending; when the log cannot be read, the alert is left
    # claimed for a later round (its lease runs out again) and the scheduler goes on, instead of dying.
    await append(log, "P1", received(), opened())
    clock = ManualClock(START)
    async with replica(hook_only(receivers, lease=LEASE), clock) as n:
        await caught_up(n, log)
        await db.execute(f"UPDATE {schema}.alerts SET state = 'sending', claimed_by = 'notify-dead', "
                         "claimed_until = $1 WHERE level = 'yellow'", YELLOW - dt.timedelta(seconds=1))
        n.scheduler.log = cast(EventLog, _FaultyLog(log, loads_down=True))
        clock.set(YELLOW)  # a dead replica's lease has run out: recover it
        await settled(n, idle=False)
        await settled(n, idle=False)  # and the scheduler is still running after it
        row = await db.fetchrow(f"SELECT state, claimed_by FROM {schema}.alerts WHERE level = 'yellow'")
        assert row is not None and (row["state"], row["claimed_by"]) == ("sending", n.scheduler.me)
        assert receivers.got == [], "not sent while the log could not say whether it was sent before"
        n.scheduler.log = log
        clock.set(YELLOW + dt.timedelta(seconds=LEASE + 1))  # the lease runs out again; now the log is readable

        async def sent() -> bool:
            return bool(await db.fetchval(f"SELECT state FROM {schema}.alerts WHERE level = 'yellow'") == "sent")
        await eventually(sent, within=20, what="the alert sent and recorded once the log is readable")
    assert len(receivers.got) == 1
