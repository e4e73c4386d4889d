"""KeyedLock: one holder per key, other keys free, no entries left behind."""

from __future__ import annotations

import asyncio

from ledger.keyed_lock import KeyedLock


async def test_work_on_one_key_is_serialised_and_other_keys_run_alongside() -> None:
    locks = KeyedLock()
    inside: dict[str, int] = {"a": 0, "b": 0}
    peak: dict[str, int] = {"a": 0, "b": 0}
    both_keys_held = asyncio.Event()

    async def work(key: str) -> None:
        async with locks(key):
            inside[key] += 1
            peak[key] = max(peak[key], inside[key])
            if inside["a"] and inside["b"]:
                both_keys_held.set()
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            inside[key] -= 1

    await asyncio.gather(*(work(k) for k in "ababababab"))

    assert peak == {"a": 1, "b": 1}
    assert both_keys_held.is_set()
    assert len(locks) == 0
