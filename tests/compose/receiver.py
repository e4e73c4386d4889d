"""A webhook receiver on loopback standing in for the bureau's OA system: counts each alert key it gets."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from aiohttp import web

HOOK_SECRET = "compose-hook-secret"


class Hook:
    def __init__(self, port: int) -> None:
        self.port = port
        self.keys: Counter[str] = Counter()  # alert key → deliveries
        self.idempotency: Counter[str] = Counter()  # Idempotency-Key header → deliveries
        self.first_seen: dict[str, float] = {}  # project id → perf_counter of its first alert (bench/e2e)
        self.runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def receive(self, request: web.Request) -> web.Response:
        body: dict[str, Any] = await request.json()
        now = time.perf_counter()
        self.keys.update(str(a["alert_key"]) for a in body.get("alerts", []))
        for alert in body.get("alerts", []):
            self.first_seen.setdefault(str(alert["project_id"]), now)
        self.idempotency[request.headers.get("Idempotency-Key", "")] += 1
        return web.json_response({"ok": True})

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self.receive)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    @property
    def duplicates(self) -> int:
        """Alerts delivered more than once, counting redeliveries (notify's documented at-least-once window)."""
        return sum(n - 1 for n in self.keys.values() if n > 1)

    @property
    def distinct_after_dedup(self) -> bool:
        """Every redelivery carried the Idempotency-Key of its first delivery: a receiver that honours it sees once."""
        return sum(self.keys.values()) - len(self.keys) == sum(self.idempotency.values()) - len(self.idempotency)

    def config(self) -> tuple[str, str]:
        """(notify.toml, notify-secrets.toml) routing every alert to this hook."""
        toml = (f'[targets.oa_hook]\nchannel = "webhook"\nurl = "{self.url}"\nsecret_name = "hook"\n\n'
                '[[routes]]\ntargets = ["oa_hook"]\n\n[transport]\nattempts = 3\nbackoff_initial = 0.05\n'
                'backoff_max = 0.2\ntimeout_seconds = 2.0\nlease_seconds = 30.0\n')
        return toml, f'hook = "{HOOK_SECRET}"\n'
