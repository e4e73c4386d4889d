"""Waiting on a condition with a deadline — never a fixed sleep."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(probe: Callable[[], Awaitable[T | None]], *, within: float = 10.0, what: str = "condition",
                     poll: float = 0.02) -> T:
    """Return probe()'s first truthy result; fail after `within` seconds naming `what`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        result = await probe()
        if result:
            return result
        if loop.time() > deadline:
            raise AssertionError(f"{what} not reached within {within}s")
        await asyncio.sleep(poll)
