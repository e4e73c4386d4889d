"""WeCom (企业微信) group robot: POST {"msgtype": "markdown", "markdown": {"content": …}} to the webhook (…?key=…)."""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp

from services.notify.channels.base import AlertItem, check_errcode, markdown, post_json
from services.notify.config import Target

FREQ_LIMITED = 45009  # "api freq out of limit": 20 messages per minute per robot


@dataclass
class WeCom:
    target: Target
    client: aiohttp.ClientSession
    timeout: float = 5.0

    def body(self, items: list[AlertItem]) -> dict[str, object]:
        content = markdown(items, limit_bytes=4096)
        if self.target.mentions:
            content += "\n" + " ".join(f"<@{m}>" for m in self.target.mentions)
        return {"msgtype": "markdown", "markdown": {"content": content}}

    async def send(self, items: list[AlertItem]) -> None:
        response = await post_json(self.client, self.target.url, self.body(items), timeout=self.timeout)
        check_errcode(response, busy={FREQ_LIMITED, -1})
