"""Per-target delivery workers: rate window and digest, retries with exponential backoff, circuit breaker."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import tenacity

from ledger.clock import Clock
from ledger.waits import cancel_and_wait
from services.notify.channels.base import AlertItem, Channel, ChannelError
from services.notify.config import Target, Transport
from services.notify.resilience import Breaker, RateWindow

log = logging.getLogger("notify.delivery")


@dataclass(frozen=True)
class Claimed:
    """One claimed alert row, with what rendering and recording need."""

    item: AlertItem
    target: str
    channel: str
    recipient: str
    recovered: bool = False  # its lease expired in someone else's hands: check the log before resending


@dataclass(frozen=True)
class Outcome:
    claimed: Claimed
    ok: bool
    attempts: int
    at: dt.datetime
    error: str = ""
    dry_run: bool = False


Report = Callable[[list[Outcome]], Awaitable[None]]


class TargetWorker:
    """Drains one target's queue; whatever piled up beyond the rate window goes out as one digest."""

    def __init__(self, target: Target, channel: Channel, transport: Transport, clock: Clock, report: Report,
                 *, dry_run: bool = False) -> None:
        self.target, self.channel, self.transport = target, channel, transport
        self.clock, self.report, self.dry_run = clock, report, dry_run
        self.queue: asyncio.Queue[Claimed] = asyncio.Queue()
        self.breaker = Breaker(transport.breaker_failures, transport.breaker_reset_seconds)
        self.window = RateWindow(target.rate_per_minute) if target.rate_per_minute else None
        self.slots = asyncio.Semaphore(transport.concurrency)
        self.digests = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self.pending_keys: set[str] = set()  # claimed and handed to this worker, not yet reported
        self.on_done: Callable[[], None] | None = None  # the scheduler's "room again" check

    def offer(self, claimed: Claimed) -> None:
        self.pending_keys.add(claimed.item.alert_key)
        self.queue.put_nowait(claimed)

    async def run(self) -> None:
        try:
            await self._drain()
        finally:  # sends in flight end with the worker (a stop is a crash to them: the lease recovers them)
            await cancel_and_wait(self._tasks)

    async def _drain(self) -> None:
        while True:
            batch = [await self.queue.get()]
            while not self.queue.empty():
                batch.append(self.queue.get_nowait())
            if self.window is None:
                for c in batch:
                    await self.slots.acquire()
                    task = asyncio.create_task(self._one([c]))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
                continue
            if len(batch) <= self.window.available():
                for c in batch:
                    await self.window.acquire()
                    await self.slots.acquire()
                    await self._one([c])
                continue
            # Over the robot's limit: wait for one slot, then send everything pending as one digest.
            await self.window.acquire()
            while not self.queue.empty():
                batch.append(self.queue.get_nowait())
            self.digests += 1
            await self.slots.acquire()
            await self._one(batch)

    async def _one(self, batch: list[Claimed]) -> None:
        try:
            outcome = await self.deliver([c.item for c in batch])
            await self.report([Outcome(c, outcome[0], outcome[1], self.clock.now(), outcome[2], self.dry_run)
                               for c in batch])
        except Exception:
            log.exception("target %s: reporting failed; the lease will expire and recovery takes over",
                          self.target.name)
        finally:
            self.slots.release()
            for c in batch:
                self.pending_keys.discard(c.item.alert_key)
                self.queue.task_done()
            if self.on_done is not None:
                self.on_done()

    async def deliver(self, items: list[AlertItem]) -> tuple[bool, int, str]:
        """(delivered, attempts, last error). Never raises for a channel failure."""
        if self.dry_run:
            for item in items:
                log.info("dry run: would send to %s (%s): %s", self.target.name, self.target.channel, item.line())
            return True, 0, ""
        t = self.transport
        try:  # the first attempt goes straight out: building a retry loop per alert halved a burst's rate
            await self._attempt(items)
            return True, 1, ""
        except ChannelError as err:
            if t.attempts <= 1 or not _retryable(err):
                log.warning("target %s: giving up after 1 attempt: %s", self.target.name, err)
                return False, 1, str(err)[:500]
        attempts = 1
        await asyncio.sleep(min(t.backoff_initial, t.backoff_max))
        retrying = tenacity.AsyncRetrying(  # waits continue the series: initial, 2×initial, 4×… up to max
            stop=tenacity.stop_after_attempt(t.attempts - 1),
            wait=tenacity.wait_exponential(multiplier=2 * t.backoff_initial, max=t.backoff_max),
            retry=tenacity.retry_if_exception(_retryable),
            reraise=True)
        try:
            async for attempt in retrying:
                with attempt:
                    attempts += 1
                    await self._attempt(items)
        except ChannelError as err:
            log.warning("target %s: giving up after %d attempts: %s", self.target.name, attempts, err)
            return False, attempts, str(err)[:500]
        return True, attempts, ""

    async def _attempt(self, items: list[AlertItem]) -> None:
        await self.breaker.acquire()  # only real tries count as attempts (Breaker says why)
        try:
            await self.channel.send(items)
        except ChannelError:
            self.breaker.failure()
            raise
        self.breaker.success()

    async def delivered(self) -> None:
        """Return once everything queued so far has been sent (or given up) and reported."""
        await self.queue.join()


def _retryable(err: BaseException) -> bool:
    return isinstance(err, ChannelError) and err.retryable
