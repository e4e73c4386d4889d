"""Bounded waits that a task's cancellation always gets through.

On Python 3.11, ``asyncio.wait_for`` swallows a cancellation that arrives in the same loop turn as
the awaited result (CPython gh-86296, fixed in 3.12 by building ``wait_for`` on ``asyncio.timeout``).
A service loop that waits on an event with ``wait_for`` can then outlive its ``cancel()``: the loop
goes round again and a shutdown that gathers its tasks hangs. Everything in ``ledger`` and
``services`` that waits with a deadline goes through here instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Collection, Sequence
from typing import Any, TypeVar

T = TypeVar("T")


async def within(aw: Awaitable[T], seconds: float) -> T:
    """``await aw``, raising TimeoutError after `seconds`; a cancellation of the caller always propagates."""
    async with asyncio.timeout(seconds):
        return await aw


async def wait_set(event: asyncio.Event, seconds: float) -> bool:
    """Wait up to `seconds` for `event`; True if it was set, False on timeout."""
    try:
        async with asyncio.timeout(seconds):
            await event.wait()
    except TimeoutError:
        return False
    return True


async def until_set_or_ended(event: asyncio.Event, tasks: Sequence[asyncio.Task[Any]]) -> asyncio.Task[Any] | None:
    """Wait until `event` is set (returns None) or one of `tasks` ends first (returns it; the first in
    `tasks`' order if several did). For service loops that only end when the service stops: one that
    ended before is a failure the caller reports."""
    stopping = asyncio.ensure_future(event.wait())
    try:
        await asyncio.wait({stopping, *tasks}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
    return next((t for t in tasks if t.done()), None) if not event.is_set() else None


async def finish_within(tasks: Collection[asyncio.Task[Any]], seconds: float) -> None:
    """Let `tasks` finish for up to `seconds`, then cancel the rest; returns once all have ended (their
    errors are the tasks' own business: they are not raised here)."""
    if not tasks:
        return
    _, late = await asyncio.wait(set(tasks), timeout=seconds)
    for task in late:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
