"""Opening the event log and the ledger database from Settings, for the CLI's projection commands."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import nats

from ledger.clock import BUREAU_TZ
from ledger.eventlog import EventLog
from ledger.settings import ConfigError, Settings


@asynccontextmanager
async def event_log(settings: Settings) -> AsyncIterator[EventLog]:
    if settings.nats_url is None:
        raise ConfigError("Config 'LEDGER_NATS_URL' is not set. Start the system with 'ledger up' or set it.")
    nc = await nats.connect(settings.nats_url, user=settings.nats_user, password=settings.nats_password,
                            name="ledger-cli", connect_timeout=5, max_reconnect_attempts=0)
    try:
        yield EventLog(nc, settings.subjects)
    finally:
        await nc.close()


@asynccontextmanager
async def database(settings: Settings) -> AsyncIterator[asyncpg.Connection]:
    if settings.database_url is None:
        raise ConfigError("Config 'LEDGER_DATABASE_URL' is not set. Start the system with 'ledger up' or set it.")
    conn = await asyncpg.connect(settings.database_url)
    try:
        yield conn
    finally:
        await conn.close()


def parse_time(raw: str) -> dt.datetime:
    """An RFC 3339 / ISO time; without an offset it is the bureau's local time (Asia/Shanghai)."""
    try:
        at = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"'{raw}' is not a time like 2026-03-01T00:00:00+08:00 or 2026-03-01") from None
    return at.replace(tzinfo=BUREAU_TZ) if at.tzinfo is None else at
