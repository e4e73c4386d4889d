"""A target worker: an endpoint's outage opens its circuit breaker (alerts due meanwhile wait for it, they
are not failed untried); a stopped worker leaves no send running behind it."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import cast

import pytest

from ledger.clock import FixedClock
from ledger.waits import cancel_and_wait, within
from services.notify.channels.base import AlertItem, Channel, ChannelError
from services.notify.config import Target, Transport
from services.notify.delivery import Claimed, Outcome, TargetWorker
from tests.waiting import until


class FlakyChannel:
    """Refuses the first `failures` sends (a receiver that is down), then accepts; notes when each try began
    (the loop's time, as the breaker's)."""

    def __init__(self, failures: int) -> None:
        self.failures, self.tries = failures, 0
        self.tried_at: list[float] = []

    async def send(self, items: list[AlertItem]) -> None:
        self.tries += 1
        self.tried_at.append(asyncio.get_running_loop().time())
        if self.tries <= self.failures:
            raise ChannelError("503 from the receiver", retryable=True)


def item(n: int) -> AlertItem:
    return AlertItem(f"k-{n}", f"P-{n}", f"项目{n}", "stage", "planning_permit", "red", dt.date(2026, 9, 29),
                     "规划科", "")


async def report(outcomes: list[Outcome]) -> None:
    raise AssertionError("deliver() is called directly here")


async def test_an_alert_due_while_the_breaker_is_open_waits_for_it_and_is_delivered(
        monkeypatch: pytest.MonkeyPatch) -> None:
    channel = FlakyChannel(failures=2)
    transport = Transport(attempts=2, backoff_initial=0.01, backoff_max=0.02, breaker_failures=2,
                          breaker_reset_seconds=1.0)  # long enough to ask it while open
    target = Target(name="hook", channel="webhook", url="http://receiver.invalid")
    clock = FixedClock(dt.datetime(2026, 9, 29, 1, tzinfo=dt.UTC))
    worker = TargetWorker(target, cast(Channel, channel), transport, clock, report)
    assert await worker.deliver([item(1)]) == (False, 2, "503 from the receiver")  # two failures: the breaker opens
    assert worker.breaker.is_open
    asked: list[tuple[bool, int]] = []  # (breaker open, tries so far) each time the delivery asks the breaker
    acquire = worker.breaker.acquire

    async def noting_acquire() -> None:
        asked.append((worker.breaker.is_open, channel.tries))  # noted before any wait: no race with the reset
        await acquire()
    monkeypatch.setattr(worker.breaker, "acquire", noting_acquire)
    # The receiver is back; the breaker is still open.
    delivered, attempts, _ = await within(worker.deliver([item(2)]), 5.0)
    assert asked[0] == (True, 2), asked  # it asked while open, before any try of its own: not sent while open
    assert (delivered, attempts, channel.tries) == (True, 1, 3)  # it waited for the reset, then one try went out
    # The breaker opened when the second try failed: the third went out a whole reset later, and closed it.
    assert channel.tried_at[1] + transport.breaker_reset_seconds <= channel.tried_at[2]
    assert not worker.breaker.is_open


class HangingChannel:
    """A receiver that never answers."""

    def __init__(self) -> None:
        self.sending, self.cancelled = 0, 0

    async def send(self, items: list[AlertItem]) -> None:
        self.sending += 1
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled += 1
            raise


async def test_a_stopped_worker_cancels_its_sends_in_flight() -> None:
    # They ran on after the replica stopped (its HTTP session closed under them); the lease recovers them.
    channel = HangingChannel()
    transport = Transport(attempts=1, timeout_seconds=60.0)
    target = Target(name="hook", channel="webhook", url="http://receiver.invalid")
    worker = TargetWorker(target, cast(Channel, channel), transport,
                          FixedClock(dt.datetime(2026, 9, 29, 1, tzinfo=dt.UTC)), report)
    running = asyncio.create_task(worker.run())
    worker.offer(Claimed(item(1), "hook", "webhook", "http://receiver.invalid"))
    await until(lambda: bool(channel.sending), what="the send started")
    await within(cancel_and_wait([running]), 5.0)
    assert channel.cancelled == 1 and not worker._tasks
