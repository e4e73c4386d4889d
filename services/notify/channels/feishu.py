"""Feishu (飞书) custom bot: {"timestamp", "sign", "msg_type": "text", "content": {"text": …}}.

The sign is base64(HMAC-SHA256 with key "timestamp\\nsecret" over an empty message); timestamp in seconds.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

import aiohttp

from ledger.clock import Clock
from services.notify.channels.base import AlertItem, ChannelError, post_json, title
from services.notify.config import Target

FREQUENCY_LIMITED = 9499  # "too many request"


def sign(timestamp_s: int, secret: str) -> str:
    key = f"{timestamp_s}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()


@dataclass
class Feishu:
    target: Target
    client: aiohttp.ClientSession
    wall: Clock
    timeout: float = 5.0

    def body(self, items: list[AlertItem]) -> dict[str, object]:
        text = "\n".join([title(items), *(item.line() for item in items)])
        body: dict[str, object] = {"msg_type": "text", "content": {"text": text}}
        if self.target.secret:
            ts = int(self.wall.now().timestamp())
            body = {"timestamp": str(ts), "sign": sign(ts, self.target.secret), **body}
        return body

    async def send(self, items: list[AlertItem]) -> None:
        response = await post_json(self.client, self.target.url, self.body(items), timeout=self.timeout)
        try:
            data = response.json()
        except ValueError:
            raise ChannelError(f"not JSON: {response.text[:200]}") from None
        code = data.get("code", data.get("StatusCode", 0))
        if code:
            raise ChannelError(f"code {code}: {data.get('msg', '')}", retryable=code == FREQUENCY_LIMITED)
