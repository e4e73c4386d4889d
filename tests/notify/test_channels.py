"""Each channel's real request format and signature, checked by loopback receivers; email through aiosmtpd."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from email import message_from_bytes

import aiohttp
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from ledger.clock import SystemClock
from ledger.runtime.ports import free_port
from services.notify.channels.base import AlertItem, ChannelError
from services.notify.channels.factory import build_channel
from services.notify.config import Target
from tests.notify.conftest import routes_config
from tests.notify.receivers import Receivers

ITEM = AlertItem("P1:stage:site_selection:2026-09-30:red:x", "P1", "黄边村城市更新项目", "stage", "site_selection",
                 "red", dt.date(2026, 9, 30), "用地科", "王副局长")


@pytest.fixture
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as c:
        yield c


@pytest.mark.parametrize("name", ["dept_wecom", "leader_dingtalk", "leader_feishu", "oa_hook"])
async def test_each_robot_gets_its_documented_body_and_a_signature_its_service_accepts(
        name: str, receivers: Receivers, client: aiohttp.ClientSession) -> None:
    target = routes_config(receivers).targets[name]
    await build_channel(target, client, SystemClock(), 2.0).send([ITEM])
    assert receivers.errors == []
    [got] = receivers.got
    assert "黄边村城市更新项目" in got.text and "2026-09-30" in got.text and "红色预警" in got.text


async def test_dingtalk_mentions_and_webhook_idempotency_key(receivers: Receivers,
                                                             client: aiohttp.ClientSession) -> None:
    config = routes_config(receivers)
    await build_channel(config.targets["leader_dingtalk"], client, SystemClock(), 2.0).send([ITEM])
    await build_channel(config.targets["oa_hook"], client, SystemClock(), 2.0).send([ITEM])
    ding, hook = receivers.got
    assert ding.body["at"] == {"atMobiles": ["13800000000"], "isAtAll": False}
    assert hook.headers["Idempotency-Key"] == ITEM.alert_key
    assert hook.body["alerts"][0]["level"] == "red"


async def test_a_wrong_secret_is_refused_as_the_real_service_would(receivers: Receivers,
                                                                   client: aiohttp.ClientSession) -> None:
    target = routes_config(receivers).targets["leader_dingtalk"]
    wrong = Target(**{**target.__dict__, "secret": "not-the-secret"})
    with pytest.raises(ChannelError, match="310000") as err:
        await build_channel(wrong, client, SystemClock(), 2.0).send([ITEM])
    assert not err.value.retryable


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[Envelope] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.messages.append(envelope)
        return "250 OK"


async def test_email_goes_through_a_real_smtp_server() -> None:
    inbox, port = _Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        target = Target(name="supervision_mail", channel="email", host="127.0.0.1", port=port,
                        sender="ledger@bureau.example", to=("duchashi@bureau.example",))
        channel = build_channel(target, None, SystemClock(), 5.0)  # type: ignore[arg-type]  # email needs no HTTP
        await channel.send([ITEM])
        [env] = inbox.messages
        assert env.rcpt_tos == ["duchashi@bureau.example"]
        msg = message_from_bytes(env.original_content or b"")
        payload = msg.get_payload(decode=True)  # a single-part message: its decoded bytes
        assert isinstance(payload, bytes)
        assert "红色预警" in str(payload, "utf-8")
        assert msg["Message-ID"].endswith("@ledger.alerts>")
    finally:
        controller.stop()
