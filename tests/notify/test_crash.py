"""Killing notify between "sent" and "recorded", and between "recorded" and "acked" (the row settled).

The guarantee (see services/notify/README.md): the record is exactly-once — one AlertSent per alert key,
ever. Delivery at the channel is at-least-once: a crash after the receiver accepted a message and
before AlertSent was appended resends it once the lease expires (a webhook receiver can drop it by its
Idempotency-Key). A crash after the append resends nothing. Nothing is lost either way.
"""

from __future__ import annotations

import asyncio
import datetime as dt

import aiohttp
import asyncpg

from contracts import events as ev
from ledger.clock import SystemClock
from ledger.eventlog import EventLog
from services.notify.channels.base import AlertItem
from services.notify.channels.factory import build_channel
from services.notify.delivery import Outcome
from tests.notify.conftest import ManualClock, Replica, hook_only, routes_config
from tests.notify.history import append, opened, received
from tests.notify.receivers import Receivers
from tests.notify.steps import START, YELLOW, alert_events, alert_state, caught_up
from tests.waiting import eventually

LEASE = 60.0


class SendsThenDies:
    """The real channel; after the receiver accepted, the process 'dies' before anything else happens."""

    def __init__(self, receivers: Receivers, client: aiohttp.ClientSession) -> None:
        self.inner = build_channel(routes_config(receivers).targets["oa_hook"], client, SystemClock(), 2.0)
        self.sent = asyncio.Event()

    async def send(self, items: list[AlertItem]) -> None:
        await self.inner.send(items)
        self.sent.set()
        await asyncio.Future()  # hangs until the replica is cancelled: the crash


async def test_a_crash_between_sent_and_recorded_resends_once_after_the_lease_and_records_once(
        log: EventLog, replica: Replica, receivers: Receivers, db: asyncpg.Connection, schema: str) -> None:
    await append(log, "P1", received(), opened())
    clock = ManualClock(START)
    async with aiohttp.ClientSession() as client:
        dying = SendsThenDies(receivers, client)
        async with replica(hook_only(receivers, lease=LEASE), clock, channels={"oa_hook": dying}) as n:
            await caught_up(n, log)
            clock.set(YELLOW)
            await asyncio.wait_for(dying.sent.wait(), 10)
        # killed: delivered, not recorded
        assert len(receivers.got) == 1 and await alert_events(log, "P1") == []
        async with replica(hook_only(receivers, lease=LEASE), clock) as n:
            await caught_up(n, log, idle=False)
            assert len(receivers.got) == 1  # the lease still runs: no resend yet
            clock.set(YELLOW + dt.timedelta(seconds=LEASE + 1))
            records = await eventually(lambda: alert_events(log, "P1"), what="AlertSent after recovery")
    assert [type(r) for r in records] == [ev.AlertSent]
    assert len(receivers.got) == 2, "exactly one duplicate: the documented at-least-once window"
    assert receivers.got[0].headers["Idempotency-Key"] == receivers.got[1].headers["Idempotency-Key"]


async def test_a_crash_between_recorded_and_acked_never_resends(
        log: EventLog, replica: Replica, receivers: Receivers, db: asyncpg.Connection, schema: str) -> None:
    await append(log, "P1", received(), opened())
    clock = ManualClock(START)
    recorded = asyncio.Event()
    async with replica(hook_only(receivers, lease=LEASE), clock) as n:
        await caught_up(n, log)
        n.projector.apply = _frozen  # type: ignore[method-assign]  # the view must not settle it either

        async def settle_dies(outcomes: list[Outcome], seqs: dict[str, int]) -> None:
            recorded.set()
            await asyncio.Future()
        n.recorder.settle = settle_dies  # type: ignore[method-assign]
        clock.set(YELLOW)
        await asyncio.wait_for(recorded.wait(), 10)
    assert len(receivers.got) == 1 and len(await alert_events(log, "P1")) == 1
    assert await alert_state(db, schema) == "sending"
    async with replica(hook_only(receivers, lease=LEASE), clock) as n:
        clock.set(YELLOW + dt.timedelta(seconds=LEASE + 1))
        await caught_up(n, log)

        async def sent() -> bool:
            return await alert_state(db, schema) == "sent"
        await eventually(sent, what="row settled from the log")
    assert len(receivers.got) == 1
    assert len(await alert_events(log, "P1")) == 1


async def _frozen(records: object) -> int:
    await asyncio.Future()
    return 0
