"""Generic webhook: JSON alerts, signed like GitHub/Stripe webhooks so the receiver can check origin and age.

Headers: `X-Ledger-Timestamp: <unix seconds>`, `X-Ledger-Signature: sha256=<hex HMAC-SHA256 of
"<timestamp>.<body>" under the shared secret>`, and `Idempotency-Key` (the alert key, or a hash of
a digest's keys) so a receiver can drop the duplicate our at-least-once window may produce.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass

import aiohttp

from ledger.clock import Clock
from services.notify.channels.base import AlertItem, post_json
from services.notify.config import Target


def signature(secret: str, timestamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def idempotency_key(items: list[AlertItem]) -> str:
    if len(items) == 1:
        return items[0].alert_key
    return "digest-" + hashlib.sha256("\n".join(sorted(i.alert_key for i in items)).encode()).hexdigest()[:32]


@dataclass
class Webhook:
    target: Target
    client: aiohttp.ClientSession
    wall: Clock
    timeout: float = 5.0

    def payload(self, items: list[AlertItem]) -> bytes:
        alerts = [{"alert_key": i.alert_key, "project_id": i.project_id, "project_name": i.project_name,
                   "deadline_kind": i.kind, "deadline_ref": i.ref, "level": i.level, "due_on": i.due_on.isoformat(),
                   "department": i.department, "leader": i.leader, "text": i.line()} for i in items]
        return json.dumps({"alerts": alerts}, ensure_ascii=False, separators=(",", ":")).encode()

    async def send(self, items: list[AlertItem]) -> None:
        body = self.payload(items)
        ts = str(int(self.wall.now().timestamp()))
        headers = {"Content-Type": "application/json", "X-Ledger-Timestamp": ts,
                   "Idempotency-Key": idempotency_key(items)}
        if self.target.secret:
            headers["X-Ledger-Signature"] = signature(self.target.secret, ts, body)
        await post_json(self.client, self.target.url, {}, content=body, headers=headers, timeout=self.timeout)
