"""An alert delivered while its record cannot be appended is recorded later and never sent again.

The recorder holds such an outcome and tries again (the scheduler's lease recovery leaves held keys
alone, and its renewal loop keeps their leases, even while a claim round is stuck on the log); a stop
gives what was delivered a few seconds to reach the record.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any, cast

import asyncpg
import nats.errors
import pytest

from contracts import events as ev
from ledger.eventlog import EventLog, Loaded
from services.notify.recorder import APPEND_TRIES
from tests.faults import Fault, faulty
from tests.notify.conftest import ManualClock, Replica, hook_only
from tests.notify.history import append, opened, received
from tests.notify.receivers import Receivers
from tests.notify.steps import START, YELLOW, alert_events, alert_row, alert_state, caught_up, settled
from tests.waiting import eventually, until

LEASE = 60.0


class StuckReads:
    """The event log, except that `load_project` does not answer (NATS unreachable, each read waiting out
    its timeout) until `answer()`; everything else is the real log's."""

    def __init__(self, real: EventLog) -> None:
        self.real = real
        self.waiting = 0  # reads that have not answered yet
        self._answer = asyncio.Event()

    def answer(self) -> None:
        self._answer.set()

    async def load_project(self, project_id: str) -> Loaded:
        self.waiting += 1
        try:
            await self._answer.wait()
        finally:
            self.waiting -= 1
        return await self.real.load_project(project_id)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


async def test_an_alert_whose_record_cannot_be_appended_for_a_while_is_recorded_later_and_sent_once(
        log: EventLog, replica: Replica, receivers: Receivers, db: asyncpg.Connection, schema: str) -> None:
    await append(log, "P1", received(), opened())
    clock = ManualClock(START)
    async with replica(hook_only(receivers, lease=LEASE), clock) as n:
        appends = Fault(nats.errors.TimeoutError, down=True)  # NATS unreachable
        n.recorder.log = faulty(n.recorder.log, append=appends)
        await caught_up(n, log)
        clock.set(YELLOW)

        # (the first round gives up after APPEND_TRIES; one more is a later round)
        await until(lambda: appends.failed > APPEND_TRIES, within=20,
                    what="the outcome kept and its append tried again")
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
        log: EventLog, replica: Replica, receivers: Receivers, monkeypatch: pytest.MonkeyPatch) -> None:
    await append(log, "P1", received(), opened())
    clock = ManualClock(START)
    async with replica(hook_only(receivers, lease=LEASE), clock) as n:
        appends = Fault(nats.errors.TimeoutError, down=True)  # the record cannot land before the stop comes
        n.recorder.log = faulty(n.recorder.log, append=appends)
        held_at_stop: set[str] = set()
        drained = n.recorder.drained

        async def appending_again_at_stop() -> None:  # the stop's drain: NATS is back just as it begins
            held_at_stop.update(n.recorder.holding)
            appends.release()
            await drained()
        monkeypatch.setattr(n.recorder, "drained", appending_again_at_stop)
        await caught_up(n, log)
        clock.set(YELLOW)
        await until(lambda: appends.failed >= 1 and bool(n.recorder.holding),
                    what="delivered, its record held after an append timed out")
    assert held_at_stop, "the stop began with the record still held: its drain put it on the record"
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

        await until(lambda: refused.failed >= 1 and not n.recorder.holding, within=20,
                    what="the outcome released to lease recovery")
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
        await until(lambda: len(receivers.got) == 1, what="the yellow alert delivered")
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
        reads = n.scheduler.log
        loads = Fault(nats.errors.TimeoutError, down=True)
        n.scheduler.log = faulty(reads, load_project=loads)
        clock.set(YELLOW)  # a dead replica's lease has run out: recover it
        await settled(n, idle=False)
        await settled(n, idle=False)  # and the scheduler is still running after it
        assert loads.failed >= 1  # recovery did try to read the log
        row = await alert_row(db, schema, "state", "claimed_by")
        assert row is not None and (row["state"], row["claimed_by"]) == ("sending", n.scheduler.me)
        assert receivers.got == [], "not sent while the log could not say whether it was sent before"
        n.scheduler.log = reads
        clock.set(YELLOW + dt.timedelta(seconds=LEASE + 1))  # the lease runs out again; now the log is readable

        async def sent() -> bool:
            return await alert_state(db, schema) == "sent"
        await eventually(sent, within=20, what="the alert sent and recorded once the log is readable")
    assert len(receivers.got) == 1


async def test_leases_are_renewed_while_a_claim_round_is_stuck_reading_the_log(
        log: EventLog, replica: Replica, receivers: Receivers, db: asyncpg.Connection, schema: str) -> None:
    # Renewal was a step of the claim loop: a round whose lease recovery waited on the log (5 s per project
    # while NATS is unreachable) held it up, and the leases of what this replica held ran out meanwhile
    # (another replica would then send those alerts again). It is a loop of its own now.
    await append(log, "P1", received(), opened())
    await append(log, "P2", received(), opened())
    clock = ManualClock(START)
    async with replica(hook_only(receivers, lease=LEASE), clock) as n:
        appends = Fault(nats.errors.TimeoutError, down=True)  # P1's record cannot land: P1 stays held
        n.recorder.log = faulty(n.recorder.log, append=appends)
        await caught_up(n, log)
        # P2's alert was claimed by a replica that died; its lease runs out half a lease after YELLOW.
        await db.execute(f"UPDATE {schema}.alerts SET state = 'sending', claimed_by = 'notify-dead', "
                         "claimed_until = $1 WHERE level = 'yellow' AND project_id = 'P2'",
                         YELLOW + dt.timedelta(seconds=LEASE / 2))
        clock.set(YELLOW)
        await until(lambda: len(receivers.got) == 1 and appends.failed >= 1 and bool(n.recorder.holding),
                    what="P1's alert delivered, its record held")
        stuck = StuckReads(n.scheduler.log)
        n.scheduler.log = cast(EventLog, stuck)
        clock.set(YELLOW + dt.timedelta(seconds=LEASE / 2 + 1))  # P2's lease ran out: recovery reads the log
        await until(lambda: stuck.waiting == 1, what="the claim round stuck reading P2's history")
        ticks, renewed = n.scheduler.ticks, n.scheduler.renewed
        clock.set(YELLOW + dt.timedelta(seconds=3 * LEASE))  # P1's lease would have run out twice over

        async def p1_renewed() -> bool:
            if n.scheduler.renewed == renewed:  # (counted once its UPDATE has returned: then the row shows it)
                return False
            row = await db.fetchrow(f"SELECT claimed_until, claimed_by FROM {schema}.alerts "
                                    "WHERE level = 'yellow' AND project_id = 'P1'")
            return row is not None and row["claimed_by"] == n.scheduler.me and row["claimed_until"] > clock.now()
        await eventually(p1_renewed, what="P1's lease renewed while the claim round is stuck")
        assert n.scheduler.renewed > renewed
        assert (n.scheduler.ticks, stuck.waiting) == (ticks, 1), "the claim round was still stuck meanwhile"
        assert len(receivers.got) == 1
        stuck.answer()  # the log answers again: P2 has no record, so it is sent now
        await until(lambda: len(receivers.got) == 2, what="P2's alert sent once its history could be read")
        appends.release()

        async def both_sent() -> bool:
            sent = await db.fetchval(f"SELECT count(*) FROM {schema}.alerts WHERE level = 'yellow' AND state = 'sent'")
            return bool(sent == 2)
        await eventually(both_sent, within=20, what="both yellow alerts recorded once appends work again")
    assert [type(e) for e in await alert_events(log, "P1")] == [ev.AlertSent]
    assert [type(e) for e in await alert_events(log, "P2")] == [ev.AlertSent]
    assert len({r.headers["Idempotency-Key"] for r in receivers.got}) == 2, "each alert sent once"
