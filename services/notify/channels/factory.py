"""Builds the channel object of a configured target."""

from __future__ import annotations

import aiohttp

from ledger.clock import Clock
from services.notify.channels.base import Channel
from services.notify.channels.dingtalk import DingTalk
from services.notify.channels.email import Email
from services.notify.channels.feishu import Feishu
from services.notify.channels.webhook import Webhook
from services.notify.channels.wecom import WeCom
from services.notify.config import Target


def build_channel(target: Target, client: aiohttp.ClientSession, wall: Clock, timeout: float) -> Channel:
    match target.channel:
        case "wecom":
            return WeCom(target, client, timeout)
        case "dingtalk":
            return DingTalk(target, client, wall, timeout)
        case "feishu":
            return Feishu(target, client, wall, timeout)
        case "email":
            return Email(target, timeout)
        case "webhook":
            return Webhook(target, client, wall, timeout)
    raise ValueError(f"unknown channel {target.channel!r} of target {target.name!r}")
