"""Coalescing concurrent point look-ups into one batched query (one round trip for many callers)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Coalescer(Generic[K, V]):
    """`await get(key)`: keys asked for while a batch is in flight go together in the next batch.

    `fetch(keys)` returns the values found; a key it leaves out resolves to None. One batch runs
    at a time, so under load batches grow by themselves and round trips stay few.
    """

    def __init__(self, fetch: Callable[[list[K]], Awaitable[dict[K, V]]], *, max_batch: int = 1000) -> None:
        self.fetch = fetch
        self.max_batch = max_batch
        self._waiting: dict[K, list[asyncio.Future[V | None]]] = {}
        self._worker: asyncio.Task[None] | None = None

    async def get(self, key: K) -> V | None:
        future: asyncio.Future[V | None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(key, []).append(future)
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        while self._waiting:
            keys = list(self._waiting)[: self.max_batch]
            futures = {k: self._waiting.pop(k) for k in keys}
            try:
                found = await self.fetch(keys)
            except Exception as err:  # every caller of this batch learns of the failure
                for waiters in futures.values():
                    for f in waiters:
                        if not f.done():
                            f.set_exception(err)
                continue
            for k, waiters in futures.items():
                for f in waiters:
                    if not f.done():
                        f.set_result(found.get(k))
