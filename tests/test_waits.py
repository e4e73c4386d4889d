"""A loop that waits with a deadline stops when cancelled, even if its event is set in the same loop turn."""

from __future__ import annotations

import asyncio

import nats.errors
import pytest

from ledger.waits import cancel_and_wait, finish_within, until_set_or_ended, wait_set, within
from tests.waiting import eventually


async def _waiting_loop(event: asyncio.Event, rounds: list[bool]) -> None:
    while True:
        event.clear()
        rounds.append(await wait_set(event, 5.0))


async def test_cancel_gets_through_when_the_event_is_set_in_the_same_turn() -> None:
    # asyncio.wait_for (3.11) returns the result here and the loop never stops: the shutdown hang
    # that notify's two-replica test hit in CI.
    for _ in range(20):
        event, rounds = asyncio.Event(), list[bool]()
        task = asyncio.create_task(_waiting_loop(event, rounds))
        await asyncio.sleep(0)
        event.set()
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=2.0)
        assert done == {task} and task.cancelled(), "the waiting loop outlived its cancel()"
        assert rounds == []


async def test_wait_set_reports_set_and_timeout() -> None:
    event = asyncio.Event()
    assert await wait_set(event, 0.01) is False
    asyncio.get_running_loop().call_soon(event.set)
    assert await wait_set(event, 5.0) is True


async def test_within_returns_the_result_or_raises_timeout() -> None:
    assert await within(asyncio.sleep(0, result="x"), 1.0) == "x"
    with pytest.raises(TimeoutError):
        await within(asyncio.Event().wait(), 0.01)


async def test_until_set_or_ended_says_which_task_ended_and_why_or_none_once_the_event_is_set() -> None:
    stop, forever = asyncio.Event(), asyncio.Event()
    running = asyncio.create_task(forever.wait())

    async def fails() -> None:
        raise RuntimeError("loop broke")

    failing = asyncio.create_task(fails(), name="the fetch loop")
    assert await within(until_set_or_ended(stop, [running, failing]), 5) == \
        "the fetch loop ended (RuntimeError('loop broke'))"
    cancelled = asyncio.create_task(forever.wait(), name="the renewal loop")
    cancelled.cancel()
    assert await within(until_set_or_ended(stop, [running, cancelled]), 5) == "the renewal loop ended (cancelled)"
    returned = asyncio.create_task(asyncio.sleep(0), name="the sampler")
    assert await within(until_set_or_ended(stop, [running, returned]), 5) == "the sampler ended (returned)"
    stop.set()
    assert await within(until_set_or_ended(stop, [running]), 5) is None
    assert not running.done()
    running.cancel()
    await asyncio.gather(running, failing, return_exceptions=True)


async def test_eventually_fails_a_probe_that_never_returns() -> None:
    async def hangs() -> bool:
        await asyncio.Event().wait()
        return True

    with pytest.raises(AssertionError, match="did not return"):
        await eventually(hangs, within=0.05, what="a hanging probe")


async def test_eventually_lets_a_probes_own_timeout_error_through_as_itself() -> None:
    async def times_out() -> bool:  # as a consumer_info call whose reply never came
        raise nats.errors.TimeoutError

    with pytest.raises(nats.errors.TimeoutError):
        await eventually(times_out, within=5, what="a probe that raises TimeoutError")


async def test_finish_within_lets_quick_tasks_end_and_cancels_the_late_ones() -> None:
    release = asyncio.Event()

    async def quick() -> str:
        await release.wait()
        return "done"

    async def failing() -> None:
        raise RuntimeError("its own business")

    ending, broken, stuck = (asyncio.create_task(quick()), asyncio.create_task(failing()),
                             asyncio.create_task(asyncio.Event().wait()))
    asyncio.get_running_loop().call_soon(release.set)
    await finish_within({ending, broken, stuck}, 1.0)  # does not raise the failed task's error
    assert ending.result() == "done" and isinstance(broken.exception(), RuntimeError) and stuck.cancelled()


async def _swallows_one_cancel(cancels: list[int]) -> None:
    """What a library's wait_for does on Python 3.11 when the reply lands in the cancel's loop turn:
    the cancellation is lost and the task goes on to wait for something that never comes."""
    try:
        await asyncio.Event().wait()
    except asyncio.CancelledError:
        cancels.append(1)
    await asyncio.Event().wait()


async def test_cancel_and_wait_cancels_again_a_task_that_swallowed_the_cancel() -> None:
    cancels: list[int] = []
    stubborn = asyncio.create_task(_swallows_one_cancel(cancels))
    plain = asyncio.create_task(asyncio.Event().wait())
    await asyncio.sleep(0)
    await within(cancel_and_wait([stubborn, plain], every=0.05), 5.0)
    assert cancels == [1] and stubborn.cancelled() and plain.cancelled()


async def test_cancel_and_wait_does_not_raise_the_tasks_errors() -> None:
    async def failing() -> None:
        raise RuntimeError("its own business")

    broken = asyncio.create_task(failing())
    await asyncio.sleep(0)
    await cancel_and_wait([broken])
    assert isinstance(broken.exception(), RuntimeError)
