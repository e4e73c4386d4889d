"""The request/reply hot path on a plain nats-py queue subscription.

A FastStream subscriber spent ~130 µs of intake's CPU per submission on dispatch alone (an anyio
task group and memory stream per worker pool, context scopes, middlewares, a Response and a
publisher chain for the reply): a fifth of intake's CPU under load (py-spy, bench.ingest). Here a
message costs one asyncio task: the subscription's callback starts the handler and returns, the
handler's bytes go back on the message's reply subject. (The inbound stream's consumer is a plain
nats-py pull loop too: inbound.py says why.)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from ledger.waits import finish_within

log = logging.getLogger("intake")


class RequestServer:
    """Answers requests on `subject` (queue group `queue`): `handle(msg)` → reply bytes.

    At most `max_inflight` handlers run at once; beyond that the subscription's delivery waits
    (messages queue in nats-py, as they did in FastStream's worker pool). A handler that raises
    is logged and sends no reply (the requester times out and may retry with the same key).
    """

    def __init__(self, nc: NATS, subject: str, queue: str, handle: Callable[[Msg], Awaitable[bytes]], *,
                 max_inflight: int = 256) -> None:
        self.nc, self.subject, self.queue, self.handle = nc, subject, queue, handle
        self._room = asyncio.Semaphore(max_inflight)
        self._inflight: set[asyncio.Task[None]] = set()
        self._sub: Subscription | None = None

    async def start(self) -> None:
        self._sub = await self.nc.subscribe(self.subject, queue=self.queue, cb=self._on)

    async def stop(self, *, grace: float = 10.0) -> None:
        """Take no more requests, then let the ones in flight finish (at most `grace` seconds; the
        rest are cancelled, so none outlives the connections closed after this)."""
        if self._sub is not None:
            sub, self._sub = self._sub, None
            await sub.unsubscribe()
        await finish_within(set(self._inflight), grace)

    async def _on(self, msg: Msg) -> None:
        await self._room.acquire()
        task = asyncio.create_task(self._answer(msg))
        self._inflight.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._inflight.discard(task)
        self._room.release()

    async def _answer(self, msg: Msg) -> None:
        try:
            reply = await self.handle(msg)
            if msg.reply:
                await self.nc.publish(msg.reply, reply)
        except Exception:
            log.exception("request on %s: no reply sent", msg.subject)
