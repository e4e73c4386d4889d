"""Per-endpoint circuit breaker and per-robot rate window (transport concerns: they use the loop's monotonic time)."""

from __future__ import annotations

import asyncio
import collections
from dataclasses import dataclass, field


@dataclass
class Breaker:
    """Closed → open after `failures` consecutive failures → half-open after `reset` seconds: the calls
    that waited go through, and one more failure reopens it at once.

    An open breaker is waited out (`acquire`), not failed: its reset (30 s) outlasts the retries' backoff
    (~3.5 s), so failing calls while open recorded every alert due during an endpoint's outage as
    AlertFailed — never retried — without the endpoint having been tried once."""

    failures: int = 5
    reset: float = 30.0
    _count: int = 0
    _opened_at: float | None = None

    async def acquire(self) -> None:
        """Wait until a call may be tried (at once when closed); nothing awaits between the check and the call."""
        loop = asyncio.get_running_loop()
        while True:
            if self._opened_at is None:
                return
            wait = self._opened_at + self.reset - loop.time()
            if wait <= 0:
                self._opened_at = None  # half-open: one more failure reopens at once
                self._count = self.failures - 1
                return
            await asyncio.sleep(wait)

    def success(self) -> None:
        self._count, self._opened_at = 0, None

    def failure(self) -> None:
        self._count += 1
        if self._count >= self.failures:
            self._opened_at = asyncio.get_running_loop().time()

    @property
    def is_open(self) -> bool:
        return self._opened_at is not None


@dataclass
class RateWindow:
    """At most `per_minute` messages in any 60 s window (the robots' documented limit)."""

    per_minute: int
    _sent: collections.deque[float] = field(default_factory=collections.deque)

    def _trim(self, now: float) -> None:
        while self._sent and now - self._sent[0] >= 60.0:
            self._sent.popleft()

    def available(self) -> int:
        self._trim(asyncio.get_running_loop().time())
        return max(0, self.per_minute - len(self._sent))

    async def acquire(self) -> None:
        """Wait for a free slot and take it."""
        loop = asyncio.get_running_loop()
        while True:
            now = loop.time()
            self._trim(now)
            if len(self._sent) < self.per_minute:
                self._sent.append(now)
                return
            await asyncio.sleep(60.0 - (now - self._sent[0]) + 0.001)
