"""KeyedLock: one holder per key, other keys free, no entries left behind."""

from __future__ import annotations

import asyncio

from ledger.keyed_lock import KeyedLock
from ledger.waits import cancel_and_wait
from tests.waiting import until


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


async def test_a_turn_cancelled_while_waiting_still_keeps_the_next_one_behind_the_first() -> None:
    locks = KeyedLock()
    order: list[str] = []
    asked: list[str] = []
    release = asyncio.Event()

    async def take(name: str, hold: bool = False) -> None:
        asked.append(name)
        async with locks("P"):
            order.append(name)
            if hold:
                await release.wait()

    first = asyncio.create_task(take("first", hold=True))
    await until(lambda: order == ["first"], within=5, what="the first turn taken")
    second = asyncio.create_task(take("second"))
    third = asyncio.create_task(take("third"))
    try:
        await until(lambda: asked == ["first", "second", "third"], within=5, what="all three asked for a turn")
        second.cancel()
        await asyncio.gather(second, return_exceptions=True)
        for _ in range(10):  # let the third run as far as it can
            await asyncio.sleep(0)
        assert order == ["first"] and not third.done(), "the third turn still waits for the first"
        release.set()
        await asyncio.gather(first, third)
    finally:
        release.set()
        await cancel_and_wait([first, second, third])
    assert order == ["first", "third"]
    assert len(locks) == 0
