"""Bounded waits that a task's cancellation always gets through.

On Python 3.11, ``asyncio.wait_for`` swallows a cancellation that arrives in the same loop turn as
the awaited result (CPython gh-86296, fixed in 3.12 by building ``wait_for`` on ``asyncio.timeout``).
A service loop that waits on an event with ``wait_for`` can then outlive its ``cancel()``: the loop
goes round again and a shutdown that gathers its tasks hangs. Everything in ``ledger`` and
``services`` that waits with a deadline goes through here instead, and everything that stops tasks
stops them with ``cancel_and_wait``: libraries still use ``wait_for`` (every nats-py request does, so
a reader cancelled just as its consumer was created went on to wait for messages for ever).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Collection, Iterable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")
RECANCEL_SECONDS = 1.0  # how long a cancelled task gets to end before it is cancelled again


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


async def until_set_or_ended(event: asyncio.Event, tasks: Sequence[asyncio.Task[Any]]) -> str | None:
    """Wait until `event` is set (returns None) or one of `tasks` ends first: returns which one and why,
    e.g. "inbound fetch loop ended (RuntimeError('…'))" (the first in `tasks`' order if several did).
    For a service's loops, which only end when it stops: one that ended before is a failure the
    service reports (and exits non-zero, to be restarted)."""
    stopping = asyncio.ensure_future(event.wait())
    try:
        await asyncio.wait({stopping, *tasks}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
    task = next((t for t in tasks if t.done()), None) if not event.is_set() else None
    if task is None:
        return None
    why = "cancelled" if task.cancelled() else repr(task.exception()) if task.exception() else "returned"
    return f"{task.get_name()} ended ({why})"


async def finish_within(tasks: Collection[asyncio.Task[Any]], seconds: float) -> None:
    """Let `tasks` finish for up to `seconds`, then cancel the rest; returns once all have ended (their
    errors are the tasks' own business: they are not raised here)."""
    if not tasks:
        return
    _, late = await asyncio.wait(set(tasks), timeout=seconds)
    await cancel_and_wait(late)
    _retrieve(tasks)


async def cancel_and_wait(tasks: Iterable[asyncio.Future[Any]], *, every: float = RECANCEL_SECONDS) -> None:
    """Cancel `tasks` and return once all have ended, cancelling again every `every` seconds a task that
    runs on (one whose cancellation a library's ``wait_for`` swallowed). Their results and errors are
    the tasks' own business: they are not raised here. If the caller is cancelled meanwhile, the tasks
    are cancelled once more and the caller's cancellation goes on."""
    tasks = list(tasks)
    pending = {t for t in tasks if not t.done()}
    try:
        while pending:
            for task in pending:
                task.cancel()
            _, pending = await asyncio.wait(pending, timeout=every)
    except asyncio.CancelledError:
        for task in pending:
            task.cancel()
        raise
    _retrieve(tasks)


def _retrieve(tasks: Iterable[asyncio.Future[Any]]) -> None:
    """Mark the ended tasks' errors as seen (as ``gather(return_exceptions=True)`` did)."""
    for task in tasks:
        if task.done() and not task.cancelled():
            task.exception()
