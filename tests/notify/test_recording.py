"""An alert delivered while its record cannot be appended is recorded later and never sent again.

The recorder holds such an outcome and tries again (the scheduler's lease recovery leaves held keys
alone); a stop gives what was delivered a few seconds to reach the record.
"""

from __future__ import annotations

import datetime as dt

import asyncpg
import nats.errors

from contracts import events as ev
from ledger.eventlog import EventLog
from services.notify.recorder import APPEND_TRIES
from tests.faults import Fault, faulty
from tests.notify.conftest import ManualClock, Replica, hook_only
from tests.notify.history import append, opened, received
from tests.notify.receivers import Receivers
from tests.notify.steps import START, YELLOW, alert_events, alert_row, alert_state, caught_up, settled
from tests.waiting import eventually

LEASE = 60.0


async def test_an_alert_whose_record_cannot_be_appended_for_a_while_is_recorded_later_and_sent_once(
        log: EventLog, replica: Replica, receivers: Receivers, db: asyncpg.Connection, schema: str) -> None:
    await append(log, "P1", received(), opened())
    clock = ManualClock(START)
    async with replica(hook_only(receivers, lease=LEASE), clock) as n:
        appends = Fault(nats.errors.TimeoutError, down=True)  # NATS unreachable
        n.recorder.log = faulty(n.recorder.log, append=appends)
        await caught_up(n, log)
        clock.set(YELLOW)

        async def tried_again() -> bool:  # the first round gives up after APPEND_TRIES; one more is a later round
            return appends.failed > APPEND_TRIES
        await eventually(tried_again, within=20, what="the outcome kept and its append tried again")
        clock.set(YELLOW + dt.timedelta(seconds=LEASE + 1))  # the lease runs out while the record waits
        await settled(n, idle=False)
        row = await alert_row(db, schema, "state", "claimed_until")
        assert row is not None and row["state"] == "sending" and row["claimed_until"] > clock.now()  # renewed
        appends.release()

        async def sent() -> bool:
            return await alert_state(db, schema) == "sent"
        await eventually(sent, within=20, what="the yellow alert recorded once appends work again")
    assert [type(e) for e in await alert_events(log, "P1")] == [ev.AlertSent]
    assert len(receivers.got) == 1, "sent once: lease recovery left the held alert alone"


async def test_a_stop_right_after_a_delivery_still_puts_it_on_the_record(
        log: EventLog, replica: Replica, receivers: Receivers) -> None:
    await append(log, "P1", received(), opened())
    clock = ManualClock(START)
    async with replica(hook_only(receivers, lease=LEASE), clock) as n:
        appends = Fault(nats.errors.TimeoutError, times=2)  # the record is still on its way when the stop comes
        n.recorder.log = faulty(n.recorder.log, append=appends)
        await caught_up(n, log)
        clock.set(YELLOW)

        async def delivered() -> bool:  # (its retries take ~0.6 s: time enough to stop while it is held)
            return appends.failed >= 1 and bool(n.recorder.holding)
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
        refused = Fault(nats.errors.MaxPayloadError, down=True)
        n.recorder.log = faulty(n.recorder.log, append=refused)
        await caught_up(n, log)
        clock.set(YELLOW)

        async def given_up() -> bool:
            return refused.failed >= 1 and not n.recorder.holding
        await eventually(given_up, within=20, what="the outcome released to lease recovery")
        assert refused.failed == 1  # not retried
        assert await alert_state(db, schema) == "sending"  # claimed until its lease runs out; recovery checks the log


async def test_another_replica_leaves_alone_an_alert_whose_record_waits_longer_than_several_leases(
        log: EventLog, replica: Replica, receivers: Receivers, db: asyncpg.Connection, schema: str) -> None:
    # The replica that delivered the alert keeps extending its lease while the record waits. Without that,
    # at each expiry the other replica could claim the row, find no record in the log and send it again.
    await append(log, "P1", received(), opened())
    clock = ManualClock(START)
    config = hook_only(receivers, lease=LEASE)
    async with replica(config, clock) as a, replica(config, clock) as b:
        appends = Fault(nats.errors.TimeoutError, down=True)  # NATS unreachable from both replicas
        for n in (a, b):
            n.recorder.log = faulty(n.recorder.log, append=appends)  # whichever claims the alert cannot record it
        await caught_up(a, log)
        await caught_up(b, log)
        clock.set(YELLOW)

        async def delivered() -> bool:
            return len(receivers.got) == 1
        await eventually(delivered, what="the yellow alert delivered")
        for _ in range(6 * 4):  # six leases go by, a quarter of one at a time, each step seen by both schedulers
            clock.advance(dt.timedelta(seconds=LEASE / 4))
            await settled(a, idle=False)
            await settled(b, idle=False)
        assert len(receivers.got) == 1, "sent once: no replica took over the alert while its holder kept it"
        assert a.scheduler.renewed + b.scheduler.renewed >= 6
        appends.release()

        async def sent() -> bool:
            return await alert_state(db, schema) == "sent"
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
        n.scheduler.log = faulty(log, load_project=Fault(nats.errors.TimeoutError, down=True))
        clock.set(YELLOW)  # a dead replica's lease has run out: recover it
        await settled(n, idle=False)
        await settled(n, idle=False)  # and the scheduler is still running after it
        row = await alert_row(db, schema, "state", "claimed_by")
        assert row is not None and (row["state"], row["claimed_by"]) == ("sending", n.scheduler.me)
        assert receivers.got == [], "not sent while the log could not say whether it was sent before"
        n.scheduler.log = log
        clock.set(YELLOW + dt.timedelta(seconds=LEASE + 1))  # the lease runs out again; now the log is readable

        async def sent() -> bool:
            return await alert_state(db, schema) == "sent"
        await eventually(sent, within=20, what="the alert sent and recorded once the log is readable")
    assert len(receivers.got) == 1
