"""Waiting on a condition with a deadline — never a fixed sleep."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg

T = TypeVar("T")


async def eventually(probe: Callable[[], Awaitable[T | None]], *, within: float = 10.0, what: str = "condition",
                     poll: float = 0.02) -> T:
    """Return probe()'s first truthy result; fail after `within` seconds naming `what` (a probe that
    itself hangs — a pool that never frees a connection, say — fails the same way; an error the probe
    raises, a TimeoutError of its own included, propagates as itself)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        guard = asyncio.timeout_at(deadline + 1.0)
        try:
            async with guard:
                result = await probe()
        except TimeoutError:
            if not guard.expired():  # the probe's own TimeoutError (nats' subclasses the builtin): keep it
                raise
            raise AssertionError(f"{what} not reached within {within}s (the last probe did not return)") from None
        if result:
            return result
        if loop.time() > deadline:
            raise AssertionError(f"{what} not reached within {within}s")
        await asyncio.sleep(poll)


async def until(condition: Callable[[], bool], *, within: float = 10.0, what: str = "condition") -> None:
    """`eventually` for a condition that needs no I/O to check (a counter, a client's state)."""
    async def probe() -> bool | None:
        return condition() or None
    await eventually(probe, within=within, what=what)


async def waiting_on_lock(watcher: asyncpg.Connection, pid: int, *, event: str | None = None) -> bool:
    """Whether the backend `pid` waits for a lock (of kind `event`, e.g. 'advisory', if given), as `watcher`
    sees it in pg_stat_activity."""
    row = await watcher.fetchrow("SELECT wait_event_type, wait_event FROM pg_stat_activity WHERE pid = $1", pid)
    return row is not None and row[0] == "Lock" and (event is None or row[1] == event)
