"""Opening the event log and the ledger database from Settings, for the CLI's projection commands."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from ledger.eventlog import EventLog
from ledger.natsconn import Unreachable, connect_operator
from ledger.settings import ConfigError, Settings


@asynccontextmanager
async def event_log(settings: Settings) -> AsyncIterator[EventLog]:
    try:
        nc = await connect_operator(settings)
    except Unreachable as err:
        raise ConfigError(str(err)) from None
    try:
        yield EventLog(nc, settings.subjects)
    finally:
        await nc.close()


@asynccontextmanager
async def database(settings: Settings) -> AsyncIterator[asyncpg.Connection]:
    url = settings.database_url or f"postgresql://postgres@127.0.0.1:{settings.postgres_port}/ledger"
    try:
        conn = await asyncpg.connect(url, timeout=5)
    except (OSError, TimeoutError, asyncpg.PostgresError) as err:
        raise ConfigError(f"cannot reach Postgres at {url} ({err}); is `ledger up` running, "
                          "or LEDGER_DATABASE_URL set?") from None
    try:
        yield conn
    finally:
        await conn.close()

