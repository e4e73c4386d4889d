"""Fire-and-forget batches drained at once: a project's messages keep their stream order across them
(app.ProjectTurns), and other projects' messages do not wait."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any, cast

import pytest

from services.intake import app
from services.intake.app import ProjectOrder, ProjectTurns
from tests.intake import builders as b
from tests.waiting import until


class FakeMsg:
    """What drain() reads of an inbound message, and what it does with it."""

    def __init__(self, seq: int, data: bytes) -> None:
        self.metadata = SimpleNamespace(sequence=SimpleNamespace(stream=seq))
        self.data = data
        self.subject = "ledger.inbound.window"
        self.acked = False

    async def ack(self) -> None:
        self.acked = True

    async def nak(self, delay: float | None = None) -> None:
        raise AssertionError("nothing here is nak'd")


async def test_a_project_of_a_later_batch_waits_for_its_earlier_batch_other_projects_do_not(
        monkeypatch: pytest.MonkeyPatch) -> None:
    release = asyncio.Event()
    settled: list[str] = []

    async def fake_settle(raw: bytes, source: str, *args: Any) -> bool:
        parsed = args[-1]
        name = f"{parsed.project_id}/{parsed.idempotency_key}"
        if name == "P-1/k1":
            await release.wait()
        settled.append(name)
        return True

    monkeypatch.setattr(app, "settle", fake_settle)
    ports = cast(Any, SimpleNamespace(max_bytes=1 << 20))
    order, turns = ProjectOrder(), ProjectTurns()
    first = [FakeMsg(1, b.raw(b.submit_app("P-1", key="k1")))]
    second = [FakeMsg(2, b.raw(b.withdraw("P-1", key="k2"))), FakeMsg(3, b.raw(b.submit_app("Q-1", key="k3")))]
    one = asyncio.create_task(app.drain(cast(Any, first), ports, cast(Any, None), cast(Any, None), order, turns))
    two = asyncio.create_task(app.drain(cast(Any, second), ports, cast(Any, None), cast(Any, None), order, turns))
    await until(lambda: settled == ["Q-1/k3"], within=10, what="the other project settled meanwhile")
    assert not second[0].acked, "P-1's later message waits for its earlier batch"
    release.set()
    await asyncio.gather(one, two)
    assert settled == ["Q-1/k3", "P-1/k1", "P-1/k2"]
    assert all(m.acked for m in first + second)
    assert len(turns) == 0, "no project is remembered once its turns are over"


async def test_a_turn_cancelled_while_waiting_still_keeps_the_next_one_behind_the_first() -> None:
    turns = ProjectTurns()
    order: list[str] = []
    release = asyncio.Event()

    async def take(name: str, hold: bool = False) -> None:
        async with turns.turn("P"):
            order.append(name)
            if hold:
                await release.wait()

    first = asyncio.create_task(take("first", hold=True))
    await until(lambda: order == ["first"], within=5, what="the first turn taken")
    second = asyncio.create_task(take("second"))
    third = asyncio.create_task(take("third"))
    await asyncio.sleep(0)
    second.cancel()
    await asyncio.gather(second, return_exceptions=True)
    for _ in range(10):  # let the third run as far as it can
        await asyncio.sleep(0)
    assert order == ["first"] and not third.done(), "the third turn still waits for the first"
    release.set()
    await asyncio.gather(first, third)
    assert order == ["first", "third"]
    assert len(turns) == 0
