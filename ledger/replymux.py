"""Many concurrent multi-message replies over one wildcard inbox subscription."""

from __future__ import annotations

import asyncio
import itertools

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription


class Replies:
    def __init__(self, subject: str) -> None:
        self.subject = subject
        self.queue: asyncio.Queue[Msg] = asyncio.Queue()


class ReplyMux:
    """`open()` gives a unique reply subject and a queue of what arrives on it; `close()` forgets it.

    The subscription on `<inbox>.*` is made once, lazily, on the first `open()`; stray replies to a
    closed token (after a timeout) are dropped.
    """

    def __init__(self, nc: NATS) -> None:
        self.nc = nc
        self._prefix = ""
        self._sub: Subscription | None = None
        self._open: dict[str, Replies] = {}
        self._tokens = itertools.count()
        self._starting: asyncio.Lock | None = None

    async def open(self) -> Replies:
        if self._sub is None:
            if self._starting is None:
                self._starting = asyncio.Lock()
            async with self._starting:
                if self._sub is None:
                    self._prefix = self.nc.new_inbox()
                    self._sub = await self.nc.subscribe(f"{self._prefix}.*", cb=self._deliver)
        replies = Replies(f"{self._prefix}.{next(self._tokens)}")
        self._open[replies.subject] = replies
        return replies

    def close(self, replies: Replies) -> None:
        self._open.pop(replies.subject, None)

    async def _deliver(self, msg: Msg) -> None:
        replies = self._open.get(msg.subject)
        if replies is not None:
            replies.queue.put_nowait(msg)
