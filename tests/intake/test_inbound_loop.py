"""The inbound pull loop: a fetch that times out — with either TimeoutError class — is an empty fetch.

nats-py raises the builtin TimeoutError when too little time is left for another pull request, and
nats.errors.TimeoutError otherwise. FastStream's batch loop caught only the latter, and the former
dropped the messages it had gathered (redelivered 30 s later, after ack_wait).
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

import nats.errors
from nats.aio.msg import Msg

from services.intake.inbound import InboundConsumer
from tests.waiting import eventually


class ScriptedPull:
    """Stands in for nats-py's pull subscription: each fetch plays the next step of the script."""

    def __init__(self, steps: list[list[str] | BaseException]) -> None:
        self.steps = steps
        self.fetches = 0

    async def fetch(self, batch: int, timeout: float) -> list[str]:  # noqa: ASYNC109 (nats-py's signature)
        self.fetches += 1
        if not self.steps:
            await asyncio.sleep(timeout)
            raise nats.errors.TimeoutError
        step = self.steps.pop(0)
        if isinstance(step, BaseException):
            raise step
        return step

    async def unsubscribe(self) -> None:
        return None


async def test_every_fetched_message_is_drained_whatever_the_timeouts_between() -> None:
    drained: list[str] = []

    async def drain(batch: list[Msg]) -> None:
        drained.extend(cast(list[str], batch))

    pull = ScriptedPull([["m1", "m2"], TimeoutError(), ["m3"], nats.errors.TimeoutError(), TimeoutError(),
                         nats.errors.NoServersError(), ["m4"]])
    consumer = InboundConsumer(cast(Any, None), "IN", "in.*", "intake", drain)
    consumer._sub = cast(Any, pull)
    consumer._task = asyncio.create_task(consumer._run())

    async def all_drained() -> bool:
        return drained == ["m1", "m2", "m3", "m4"] and not consumer._task.done()  # type: ignore[union-attr]
    await eventually(all_drained, within=10, what="every message drained, the loop still running")
    await consumer.stop(within=5)
    assert consumer._task.done()


async def test_a_failing_drain_does_not_stop_the_loop() -> None:
    batches: list[list[str]] = []

    async def drain(batch: list[Msg]) -> None:
        batches.append(cast(list[str], batch))
        if len(batches) == 1:
            raise ConnectionError("ack not sent")

    consumer = InboundConsumer(cast(Any, None), "IN", "in.*", "intake", drain)
    consumer._sub = cast(Any, ScriptedPull([["a"], ["b"]]))
    consumer._task = asyncio.create_task(consumer._run())

    async def both() -> bool:
        return batches == [["a"], ["b"]]
    await eventually(both, within=10, what="the second batch after a failed first")
    await consumer.stop(within=5)
