"""Fire-and-forget batches drained at once: a project's messages keep their stream order across them
(app.drain's turns), other projects' messages do not wait, and a nak in an earlier batch holds the
project's messages in a later one."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any, cast

import pytest

from ledger.keyed_lock import KeyedLock
from ledger.waits import cancel_and_wait
from services.intake import app
from services.intake.app import ProjectOrder
from tests.intake import builders as b
from tests.waiting import until

PORTS = cast(Any, SimpleNamespace(max_bytes=1 << 20))


class FakeMsg:
    """What drain() reads of an inbound message, and what it does with it."""

    def __init__(self, seq: int, data: bytes) -> None:
        self.metadata = SimpleNamespace(sequence=SimpleNamespace(stream=seq))
        self.data = data
        self.subject = "ledger.inbound.window"
        self.acked = self.nakked = False

    async def ack(self) -> None:
        self.acked = True

    async def nak(self, delay: float | None = None) -> None:
        self.nakked = True


def settling(settled: list[str], *, held: str, release: asyncio.Event, refused: str = "") -> Any:
    """A stand-in for handlers.settle: records each submission it settles ("project/key"), holds `held`
    until `release`, and reports `refused` as not settled (to be nak'd)."""
    async def fake_settle(raw: bytes, source: str, *args: Any) -> bool:
        parsed = args[-1]
        name = f"{parsed.project_id}/{parsed.idempotency_key}"
        if name == held:
            await release.wait()
        settled.append(name)
        return name != refused
    return fake_settle


def two_batches() -> tuple[list[FakeMsg], list[FakeMsg]]:
    """P-1's application in a first batch; P-1's withdrawal and Q-1's application in a second."""
    return ([FakeMsg(1, b.raw(b.submit_app("P-1", key="k1")))],
            [FakeMsg(2, b.raw(b.withdraw("P-1", key="k2"))), FakeMsg(3, b.raw(b.submit_app("Q-1", key="k3")))])


@contextlib.asynccontextmanager
async def drained_at_once(first: list[FakeMsg], second: list[FakeMsg],
                          release: asyncio.Event) -> AsyncIterator[KeyedLock]:
    """Both batches drained at once, as the inbound consumer does; on leaving, `release` is set and both
    must have finished. Yields the turns they share."""
    order, turns = ProjectOrder(), KeyedLock()
    one = asyncio.create_task(app.drain(cast(Any, first), PORTS, cast(Any, None), cast(Any, None), order, turns))
    two = asyncio.create_task(app.drain(cast(Any, second), PORTS, cast(Any, None), cast(Any, None), order, turns))
    try:
        yield turns
        release.set()
        await asyncio.gather(one, two)
    finally:
        release.set()
        await cancel_and_wait([one, two])


async def test_a_project_of_a_later_batch_waits_for_its_earlier_batch_other_projects_do_not(
        monkeypatch: pytest.MonkeyPatch) -> None:
    release = asyncio.Event()
    settled: list[str] = []
    monkeypatch.setattr(app, "settle", settling(settled, held="P-1/k1", release=release))
    first, second = two_batches()
    async with drained_at_once(first, second, release) as turns:
        await until(lambda: second[1].acked, within=10, what="the other project settled meanwhile")
        assert settled == ["Q-1/k3"], "P-1's later message waits for its earlier batch"
        assert not second[0].acked
    assert settled == ["Q-1/k3", "P-1/k1", "P-1/k2"]
    assert all(m.acked for m in first + second)
    assert len(turns) == 0, "no project is remembered once its turns are over"


async def test_a_nak_in_an_earlier_batch_holds_the_projects_messages_in_a_later_one(
        monkeypatch: pytest.MonkeyPatch) -> None:
    release = asyncio.Event()
    settled: list[str] = []
    monkeypatch.setattr(app, "settle", settling(settled, held="P-1/k1", release=release, refused="P-1/k1"))
    first, second = two_batches()
    async with drained_at_once(first, second, release):
        await until(lambda: second[1].acked, within=10, what="the other project settled meanwhile")
    assert first[0].nakked and second[0].nakked, "P-1's later message is nak'd behind its nak'd first one"
    assert "P-1/k2" not in settled, "and not judged before it"
    assert second[1].acked and not second[1].nakked


async def test_an_ack_that_cannot_be_sent_does_not_stop_the_projects_other_messages(
        monkeypatch: pytest.MonkeyPatch) -> None:
    settled: list[str] = []
    monkeypatch.setattr(app, "settle", settling(settled, held="", release=asyncio.Event()))

    class Closing(FakeMsg):
        async def ack(self) -> None:
            raise ConnectionError("the connection is closing")

    batch = [Closing(1, b.raw(b.submit_app("P-1", key="k1"))), FakeMsg(2, b.raw(b.withdraw("P-1", key="k2")))]
    await app.drain(cast(Any, batch), PORTS, cast(Any, None), cast(Any, None), ProjectOrder(), KeyedLock())
    assert settled == ["P-1/k1", "P-1/k2"] and batch[1].acked
