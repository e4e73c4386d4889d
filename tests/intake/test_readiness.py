"""Intake says it is ready only once the server holds its subscriptions; publishers retry 'no responders'.

`Client.flush()` alone is not that barrier (nats-py writes its PING ahead of buffered SUBs): the
first test with a flush in place of confirm_subscriptions saw 8-13 of its 300 requests unanswered.
"""

from __future__ import annotations

import asyncio
import uuid

import nats
import pytest
from nats.aio.msg import Msg

from ledger.natsconn import confirm_subscriptions, request_patiently
from tests.intake.conftest import wait_for


async def answer(msg: Msg) -> None:
    await msg.respond(b"here")


def unique(what: str) -> str:
    return f"{what}{uuid.uuid4().hex[:8]}"


async def test_a_subscription_is_in_place_at_the_server_once_confirmed(nats_url: str) -> None:
    service, publisher = await nats.connect(nats_url), await nats.connect(nats_url)
    prefix = unique("ready")
    unanswered = 0
    try:
        for i in range(300):  # the race is rare per round; enough rounds make a missing barrier show
            sub = await service.subscribe(f"{prefix}.{i}.submit", queue="intake", cb=answer)  # as intake does
            await confirm_subscriptions(service)
            try:
                await publisher.request(f"{prefix}.{i}.submit", b"", timeout=5)
            except nats.errors.NoRespondersError:
                unanswered += 1
            await sub.unsubscribe()
    finally:
        await service.close()
        await publisher.close()
    assert unanswered == 0


async def test_a_patient_request_is_answered_by_a_responder_that_comes_up_later(nats_url: str) -> None:
    service, publisher = await nats.connect(nats_url), await nats.connect(nats_url)
    subject = unique("later")
    try:
        reply = asyncio.create_task(request_patiently(publisher, subject, b"hello", within=10))
        # two requests sent: the first one was answered 'no responders' and is being retried
        await wait_for(lambda: publisher.stats["out_msgs"] >= 2)
        await service.subscribe(subject, cb=answer)
        assert (await asyncio.wait_for(reply, 10)).data == b"here"
    finally:
        await service.close()
        await publisher.close()


async def test_a_patient_request_gives_up_with_no_responders_after_its_time(nats_url: str) -> None:
    publisher = await nats.connect(nats_url)
    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        with pytest.raises(nats.errors.NoRespondersError):
            await request_patiently(publisher, unique("nobody"), b"", within=0.5)
    finally:
        await publisher.close()
    assert 0.3 <= loop.time() - started < 3
