"""Connecting a CLI command to the event log of a running system (embedded or configured)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import nats
import nats.errors

from ledger.cli.common import CliError
from ledger.eventlog import EventLog
from ledger.settings import Settings


def nats_url(settings: Settings) -> str:
    """The configured URL, else the embedded server `ledger up` starts on this machine."""
    return settings.nats_url or f"nats://127.0.0.1:{settings.nats_port}"


@contextlib.asynccontextmanager
async def event_log(settings: Settings, *, required: bool = True) -> AsyncIterator[EventLog | None]:
    url = nats_url(settings)

    async def quiet(_: Exception) -> None:  # the failure is reported once, below, in plain words
        return None

    try:
        nc = await asyncio.wait_for(
            nats.connect(url, user=settings.nats_user, password=settings.nats_password, connect_timeout=2,
                         max_reconnect_attempts=0, allow_reconnect=False, error_cb=quiet),
            timeout=3)
    except (OSError, TimeoutError, nats.errors.Error) as err:
        if required:
            raise CliError(f"cannot reach NATS at {url} ({err}); "
                           "is `ledger up` running, or LEDGER_NATS_URL set?") from None
        yield None
        return
    try:
        yield EventLog(nc, settings.subjects)
    finally:
        await nc.drain()
