"""DingTalk (钉钉) custom robot: markdown message, signed with HMAC-SHA256 of "timestamp\\nsecret" under the secret.

The signature goes in the query string next to access_token: `&timestamp=<ms>&sign=<urlencoded base64>`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import urllib.parse
from dataclasses import dataclass

import aiohttp

from ledger.clock import Clock
from services.notify.channels.base import AlertItem, check_errcode, markdown, post_json, title
from services.notify.config import Target

SEND_TOO_FAST = 130101


def sign(timestamp_ms: int, secret: str) -> str:
    string_to_sign = f"{timestamp_ms}\n{secret}"
    digest = hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha256).digest()
    return urllib.parse.quote_plus(base64.b64encode(digest))


@dataclass
class DingTalk:
    target: Target
    client: aiohttp.ClientSession
    wall: Clock  # real time: DingTalk refuses a timestamp more than an hour off
    timeout: float = 5.0

    def url(self) -> str:
        if not self.target.secret:
            return self.target.url
        ts = int(self.wall.now().timestamp() * 1000)
        sep = "&" if "?" in self.target.url else "?"
        return f"{self.target.url}{sep}timestamp={ts}&sign={sign(ts, self.target.secret)}"

    def body(self, items: list[AlertItem]) -> dict[str, object]:
        text = markdown(items, limit_bytes=4000)
        if self.target.mentions:
            text += "\n\n" + " ".join(f"@{m}" for m in self.target.mentions)
        return {"msgtype": "markdown", "markdown": {"title": title(items), "text": text},
                "at": {"atMobiles": list(self.target.mentions), "isAtAll": False}}

    async def send(self, items: list[AlertItem]) -> None:
        response = await post_json(self.client, self.url(), self.body(items), timeout=self.timeout)
        check_errcode(response, busy={SEND_TOO_FAST})
