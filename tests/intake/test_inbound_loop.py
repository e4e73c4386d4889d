"""The inbound pull loop: a fetch that times out — with either TimeoutError class — is an empty fetch.

nats-py raises the builtin TimeoutError when too little time is left for another pull request, and
nats.errors.TimeoutError otherwise. FastStream's batch loop caught only the latter, and the former
dropped the messages it had gathered (redelivered 30 s later, after ack_wait).
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any, cast

import nats.errors
from nats.aio.msg import Msg

from services.intake.inbound import InboundConsumer
from tests.waiting import eventually, until


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
    await consumer.stop(grace=5)
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
    await consumer.stop(grace=5)


class ScriptedFloors:
    """Stands in for the JetStream context the trimmer uses: each consumer_info reports the next ack
    floor of the script (or raises it); purge_stream records the sequence it was asked to keep from."""

    def __init__(self, floors: list[int | BaseException]) -> None:
        self.floors = floors
        self.purged: list[int] = []

    def jetstream(self) -> ScriptedFloors:
        return self

    async def consumer_info(self, stream: str, durable: str) -> SimpleNamespace:
        step = self.floors.pop(0) if len(self.floors) > 1 else self.floors[0]
        if isinstance(step, BaseException):
            raise step
        return SimpleNamespace(ack_floor=SimpleNamespace(stream_seq=step))

    async def purge_stream(self, name: str, seq: int) -> bool:
        self.purged.append(seq)
        return True


async def test_the_trimmer_purges_below_each_new_ack_floor_and_outlives_failures() -> None:
    async def drain(batch: list[Msg]) -> None:
        return None

    js = ScriptedFloors([nats.errors.TimeoutError(), 5, 5, RuntimeError("odd answer"), 9])
    consumer = InboundConsumer(cast(Any, js), "IN", "in.*", "intake", drain, trim_every=0.01)
    consumer._trimmer = asyncio.create_task(consumer._trim_loop())

    async def trimmed_twice() -> bool:
        return consumer.trimmed_to == 10
    await eventually(trimmed_twice, within=10, what="purges after both failures")
    assert js.purged == [6, 10]  # once per new floor, never again for the same one
    assert not consumer._trimmer.done()
    await consumer.stop(grace=5)
    assert consumer._trimmer.done()


async def test_the_next_batch_is_fetched_and_drained_while_the_one_before_settles() -> None:
    release = asyncio.Event()
    entered: list[str] = []
    settled: list[str] = []

    async def drain(batch: list[Msg]) -> None:
        names = cast(list[str], batch)
        entered.extend(names)
        await release.wait()
        settled.extend(names)

    consumer = InboundConsumer(cast(Any, None), "IN", "in.*", "intake", drain, inflight=2)
    pull = ScriptedPull([["a"], ["b"], ["c"]])
    consumer._sub = cast(Any, pull)
    consumer._task = asyncio.create_task(consumer._run())
    try:
        await until(lambda: len(entered) >= 2, within=10, what="batch b in drain while batch a is")
        for _ in range(10):  # let the loop run as far as it can
            await asyncio.sleep(0)
        assert pull.fetches == 2 and entered == ["a", "b"], "no third fetch while two batches are in hand"
        release.set()
        await until(lambda: sorted(settled) == ["a", "b", "c"], within=10, what="every batch settled")
    finally:
        release.set()
        await consumer.stop(grace=5)


async def test_stop_lets_every_batch_in_hand_settle() -> None:
    gates = {"a": asyncio.Event(), "b": asyncio.Event()}
    drained: list[str] = []

    async def drain(batch: list[Msg]) -> None:
        name = cast(list[str], batch)[0]
        await gates[name].wait()
        drained.append(name)

    consumer = InboundConsumer(cast(Any, None), "IN", "in.*", "intake", drain, inflight=2)
    pull = ScriptedPull([["a"], ["b"]])
    consumer._sub = cast(Any, pull)
    consumer._task = asyncio.create_task(consumer._run())
    try:
        await until(lambda: pull.fetches >= 2, within=10, what="two batches in hand")
        stopping = asyncio.create_task(consumer.stop(grace=10))
        await until(consumer._stopping.is_set, within=5, what="the stop begun")
        gates["a"].set()
        await until(lambda: drained == ["a"], within=5, what="the first batch settled")
        for _ in range(10):  # the stop may not end with batch b still in hand
            await asyncio.sleep(0)
        assert not stopping.done()
        gates["b"].set()
        await stopping
    finally:
        for gate in gates.values():
            gate.set()
        await consumer.stop(grace=5)
    assert sorted(drained) == ["a", "b"]
