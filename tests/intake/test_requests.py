"""The request/reply hot path (services/intake/requests.py) on its own, against the real server."""

from __future__ import annotations

import asyncio

import nats.errors
import pytest
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg

from contracts.subjects import Subjects
from services.intake.requests import RequestServer
from tests.intake.conftest import wait_for


async def test_at_most_max_inflight_handlers_and_every_request_answered(admin: NATS, subjects: Subjects) -> None:
    release = asyncio.Event()
    running: list[bytes] = []
    peak = 0

    async def handle(msg: Msg) -> bytes:
        nonlocal peak
        running.append(msg.data)
        peak = max(peak, len(running))
        await release.wait()
        running.remove(msg.data)
        return b"re:" + msg.data

    server = RequestServer(admin, f"{subjects.prefix}.rq.*", "q", handle, max_inflight=3)
    await server.start()
    try:
        requests = [asyncio.create_task(admin.request(f"{subjects.prefix}.rq.x", str(i).encode(), timeout=10))
                    for i in range(10)]
        await wait_for(lambda: len(running) == 3)
        assert peak == 3  # the other seven wait in the subscription
        release.set()
        replies = await asyncio.gather(*requests)
        assert sorted(r.data for r in replies) == sorted(b"re:%d" % i for i in range(10))
        assert peak == 3
    finally:
        await server.stop()


async def test_stop_lets_handlers_in_flight_answer_and_takes_no_more(admin: NATS, subjects: Subjects) -> None:
    release = asyncio.Event()
    started = asyncio.Event()

    async def handle(msg: Msg) -> bytes:
        started.set()
        await release.wait()
        return b"done"

    server = RequestServer(admin, f"{subjects.prefix}.rs.*", "q", handle)
    await server.start()
    request = asyncio.create_task(admin.request(f"{subjects.prefix}.rs.x", b"", timeout=10))
    await started.wait()
    stopping = asyncio.create_task(server.stop())
    await wait_for(lambda: server._sub is None)  # unsubscribed, while the handler still runs
    assert not stopping.done() and not request.done()
    release.set()
    assert (await request).data == b"done"
    await stopping
    with pytest.raises(nats.errors.NoRespondersError):  # a stopped server does not answer
        await admin.request(f"{subjects.prefix}.rs.x", b"", timeout=1)


async def test_a_failing_handler_sends_no_reply_and_the_server_keeps_serving(admin: NATS, subjects: Subjects) -> None:
    async def handle(msg: Msg) -> bytes:
        if msg.data == b"boom":
            raise RuntimeError("boom")
        return b"ok"

    server = RequestServer(admin, f"{subjects.prefix}.rf.*", "q", handle)
    await server.start()
    try:
        with pytest.raises(nats.errors.TimeoutError):  # a failed handler sends no reply
            await admin.request(f"{subjects.prefix}.rf.x", b"boom", timeout=0.5)
        assert (await admin.request(f"{subjects.prefix}.rf.x", b"fine", timeout=5)).data == b"ok"
    finally:
        await server.stop()
