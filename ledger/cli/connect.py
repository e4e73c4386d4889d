"""Connecting a CLI command to the event log of a running system (embedded or configured)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from ledger.cli.common import CliError
from ledger.eventlog import EventLog
from ledger.natsconn import Unreachable, connect_operator
from ledger.settings import Settings


@contextlib.asynccontextmanager
async def event_log(settings: Settings, *, required: bool = True) -> AsyncIterator[EventLog | None]:
    """The event log as the operator; with required=False, None when NATS is not reachable."""
    try:
        nc = await connect_operator(settings)
    except Unreachable as err:
        if required:
            raise CliError(str(err)) from None
        yield None
        return
    try:
        yield EventLog(nc, settings.subjects)
    finally:
        await nc.drain()
