"""Coalescer: concurrent look-ups share batches; misses are None; failures reach every caller."""

from __future__ import annotations

import asyncio

import pytest

from ledger.coalesce import Coalescer


async def test_concurrent_lookups_share_round_trips_and_misses_resolve_to_none() -> None:
    batches: list[list[int]] = []

    async def fetch(keys: list[int]) -> dict[int, str]:
        batches.append(keys)
        await asyncio.sleep(0)
        return {k: f"v{k}" for k in keys if k % 2 == 0}

    lookups = Coalescer(fetch)
    got = await asyncio.gather(*(lookups.get(k) for k in [1, 2, 3, 4, 2, 6]))

    assert got == [None, "v2", None, "v4", "v2", "v6"]
    assert len(batches) <= 2 and sorted(k for b in batches for k in b) == [1, 2, 3, 4, 6]


async def test_a_failed_batch_fails_each_of_its_callers_and_the_next_batch_still_runs() -> None:
    calls = 0

    async def fetch(keys: list[str]) -> dict[str, int]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("db down")
        return {k: len(k) for k in keys}

    lookups = Coalescer(fetch)
    first = await asyncio.gather(lookups.get("a"), lookups.get("bb"), return_exceptions=True)
    assert all(isinstance(r, ConnectionError) for r in first)
    assert await lookups.get("ccc") == 3


@pytest.mark.parametrize("n", [1, 250])
async def test_batches_respect_the_size_limit(n: int) -> None:
    sizes: list[int] = []

    async def fetch(keys: list[int]) -> dict[int, int]:
        sizes.append(len(keys))
        return {k: k for k in keys}

    lookups = Coalescer(fetch, max_batch=100)
    assert await asyncio.gather(*(lookups.get(k) for k in range(n))) == list(range(n))
    assert max(sizes) <= 100
