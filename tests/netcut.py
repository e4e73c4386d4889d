"""A TCP proxy in front of nats-server whose connections a test can hold up or cut, one by one, or refuse.

Killing the shared server would disturb every other test; cutting one client's connection here is
what that client sees when the server goes away (EOF), and holding it is a network gone silent.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass
class Link:
    client: asyncio.StreamWriter
    server: asyncio.StreamWriter
    hold_after: int | None  # bytes from the server after which nothing more is passed on to the client
    passed: int = 0
    held: asyncio.Event = field(default_factory=asyncio.Event)

    def cut(self) -> None:
        for writer in (self.client, self.server):
            writer.transport.abort()


class NetCut:
    def __init__(self, nats_url: str) -> None:
        parts = urlsplit(nats_url)
        self.target = (parts.hostname or "127.0.0.1", parts.port or 4222)
        self.links: list[Link] = []
        self.hold_after: int | None = None  # for connections made from now on
        self.refusing = False  # while set, a new connection is closed at once (the server is unreachable)
        self._server: asyncio.Server | None = None
        self.url = ""
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.url = f"nats://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"
        return self.url

    async def close(self) -> None:
        for link in self.links:
            link.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def cut_all(self, *, refuse: bool) -> None:
        """Cut every connection; with `refuse`, refuse new ones until `refusing` is cleared."""
        self.refusing = refuse
        for link in self.links:
            link.cut()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.refusing:
            writer.transport.abort()
            return
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        link = Link(client=writer, server=up_writer, hold_after=self.hold_after)
        self.links.append(link)
        for coro in (self._up(reader, up_writer), self._down(up_reader, link)):
            task = asyncio.create_task(coro)
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    @staticmethod
    async def _up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while chunk := await reader.read(65536):
                writer.write(chunk)
                await writer.drain()
        writer.transport.abort()

    @staticmethod
    async def _down(reader: asyncio.StreamReader, link: Link) -> None:
        with contextlib.suppress(OSError):
            while link.hold_after is None or link.passed < link.hold_after:
                chunk = await reader.read(65536)
                if not chunk:
                    break
                link.client.write(chunk)
                link.passed += len(chunk)
                await link.client.drain()
            else:
                link.held.set()  # read no further: the server's side backs up, the client hears nothing
                return
        link.client.transport.abort()
