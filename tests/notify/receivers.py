"""Local receivers on loopback that check each channel's request exactly as the real services document it."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

SECRET = "SEC-test-secret-不要提交"


@dataclass
class Received:
    kind: str
    body: dict[str, Any]
    at: float  # loop time of arrival
    headers: dict[str, str]

    @property
    def text(self) -> str:
        b = self.body
        if self.kind == "wecom":
            return str(b["markdown"]["content"])
        if self.kind == "dingtalk":
            return str(b["markdown"]["text"])
        if self.kind == "feishu":
            return str(b["content"]["text"])
        return json.dumps(b, ensure_ascii=False)


@dataclass
class Receivers:
    """One aiohttp server with a path per channel; `mode` simulates an outage ('down' 503) or a slow peer."""

    port: int = 0
    got: list[Received] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    mode: str = "ok"  # ok | down | slow
    slow_seconds: float = 2.0
    hits: int = 0
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def texts(self, kind: str | None = None) -> list[str]:
        return [r.text for r in self.got if kind is None or r.kind == kind]

    async def _gate(self) -> web.Response | None:
        self.hits += 1
        if self.mode == "down":
            return web.json_response({"errcode": -1, "errmsg": "system busy"}, status=503)
        if self.mode == "slow":
            await asyncio.sleep(self.slow_seconds)
        return None

    def _ok(self, kind: str, body: dict[str, Any], request: web.Request) -> None:
        self.got.append(Received(kind, body, asyncio.get_running_loop().time(), dict(request.headers)))
        self.arrived.set()

    async def wecom(self, request: web.Request) -> web.Response:
        if (r := await self._gate()) is not None:
            return r
        body = await request.json()
        if request.query.get("key") != "wecom-key" or set(body) != {"msgtype", "markdown"} \
                or body["msgtype"] != "markdown" or not isinstance(body["markdown"].get("content"), str):
            self.errors.append(f"wecom: bad request {request.query} {body}")
            return web.json_response({"errcode": 40008, "errmsg": "invalid message type"})
        self._ok("wecom", body, request)
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    async def dingtalk(self, request: web.Request) -> web.Response:
        if (r := await self._gate()) is not None:
            return r
        body = await request.json()
        # The documented check: sign = urlencode(base64(HMAC-SHA256(secret, f"{timestamp}\n{secret}"))).
        ts = request.query.get("timestamp", "")
        raw_sign = request.rel_url.raw_query_string.split("sign=", 1)[-1].split("&", 1)[0]
        want = base64.b64encode(hmac.new(SECRET.encode(), f"{ts}\n{SECRET}".encode(), hashlib.sha256).digest())
        if request.query.get("access_token") != "ding-token" or urllib.parse.unquote_plus(raw_sign) != want.decode() \
                or abs(int(ts) / 1000 - time.time()) > 3600:
            self.errors.append(f"dingtalk: bad signature {request.rel_url}")
            return web.json_response({"errcode": 310000, "errmsg": "sign not match"})
        if body.get("msgtype") != "markdown" or not {"title", "text"} <= set(body["markdown"]):
            self.errors.append(f"dingtalk: bad body {body}")
            return web.json_response({"errcode": 40035, "errmsg": "bad body"})
        self._ok("dingtalk", body, request)
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    async def feishu(self, request: web.Request) -> web.Response:
        if (r := await self._gate()) is not None:
            return r
        body = await request.json()
        ts = body.get("timestamp", "")
        key = f"{ts}\n{SECRET}".encode()
        want = base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
        if body.get("sign") != want or abs(int(ts) - time.time()) > 3600:
            self.errors.append(f"feishu: bad signature {body}")
            return web.json_response({"code": 19021, "msg": "sign match fail or timestamp is not within one hour"})
        if body.get("msg_type") != "text" or not isinstance(body.get("content", {}).get("text"), str):
            self.errors.append(f"feishu: bad body {body}")
            return web.json_response({"code": 9499, "msg": "Bad Request"})
        self._ok("feishu", body, request)
        return web.json_response({"code": 0, "msg": "success", "data": {}})

    async def webhook(self, request: web.Request) -> web.Response:
        if (r := await self._gate()) is not None:
            return r
        raw = await request.read()
        ts = request.headers.get("X-Ledger-Timestamp", "")
        want = "sha256=" + hmac.new(SECRET.encode(), ts.encode() + b"." + raw, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(request.headers.get("X-Ledger-Signature", ""), want):
            self.errors.append("webhook: bad signature")
            return web.Response(status=401)
        self._ok("webhook", json.loads(raw), request)
        return web.Response(status=204)

    async def start(self) -> web.AppRunner:
        app = web.Application()
        app.router.add_post("/wecom", self.wecom)
        app.router.add_post("/dingtalk", self.dingtalk)
        app.router.add_post("/feishu", self.feishu)
        app.router.add_post("/hook", self.webhook)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return runner
