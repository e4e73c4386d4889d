"""Embedded nats-server and Postgres as supervised children, started and waited for."""

from __future__ import annotations

import asyncio
import errno
import signal
import socket
import time
from collections.abc import Awaitable, Callable

from ledger.runtime.auth import embedded_auth
from ledger.runtime.nats import NatsServer, render_config
from ledger.runtime.ports import port_open
from ledger.runtime.postgres import PostgresServer
from ledger.runtime.supervisor import Child, ProcessSpec, Supervisor
from ledger.settings import Settings

DATABASE = "ledger"
NATS_START_SECONDS = 30.0
POSTGRES_START_SECONDS = 120.0
# SIGTERM = Postgres "smart" shutdown (waits for clients), then SIGINT = "fast" (disconnects them).
POSTGRES_STOP = ((signal.SIGTERM, 15.0), (signal.SIGINT, 15.0))


class StartupError(RuntimeError):
    """The system cannot start; the message says why and what to change."""


def ensure_port_free(port: int, what: str, flag: str, env: str) -> None:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers themselves do
        try:
            s.bind(("127.0.0.1", port))
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            raise StartupError(
                f"port {port} for {what} is already in use on 127.0.0.1: is another 'ledger up' "
                f"running? Choose another port with {flag} or {env}."
            ) from None


async def _wait(ready: Callable[[], Awaitable[bool]], child: Child, what: str, seconds: float) -> None:
    """Poll `ready` until it holds; fail early if the child exited, or at the deadline."""
    deadline = time.monotonic() + seconds
    while not await ready():
        if not child.running or child.starts > 1:
            raise StartupError(f"{what} exited during start-up; see its log lines above")
        if time.monotonic() > deadline:
            raise StartupError(f"{what} not ready within {seconds:.0f}s; see its log lines above")
        await asyncio.sleep(0.05)


async def start_nats(supervisor: Supervisor, settings: Settings) -> str:
    ensure_port_free(settings.nats_port, "nats-server", "--nats-port", "LEDGER_NATS_PORT")
    folder = settings.data_dir / "nats"
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "nats.conf"
    config.write_text(render_config(port=settings.nats_port, store_dir=folder, authorization=embedded_auth(settings)))
    server = NatsServer(config, settings.nats_port)
    child = await supervisor.start(ProcessSpec(name="nats", argv=tuple(server.command())))

    async def accepting() -> bool:
        return await asyncio.to_thread(port_open, settings.nats_port)

    await _wait(accepting, child, "nats-server", NATS_START_SECONDS)
    return server.url


async def start_postgres(supervisor: Supervisor, settings: Settings) -> str:
    ensure_port_free(settings.postgres_port, "Postgres", "--postgres-port", "LEDGER_POSTGRES_PORT")
    server = PostgresServer(settings.data_dir / "postgres", settings.postgres_port)
    await asyncio.to_thread(server.init)  # initdb on first use only
    child = await supervisor.start(ProcessSpec(
        name="postgres", argv=tuple(server.command()), user=server.user, stop=POSTGRES_STOP))

    async def accepting() -> bool:
        return await asyncio.to_thread(server.ready)

    await _wait(accepting, child, "Postgres", POSTGRES_START_SECONDS)
    await asyncio.to_thread(server.create_database, DATABASE)  # no-op when it exists
    return server.url(DATABASE)
