"""The live projector service run in-process for a test, stopped on exit."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg

from ledger.eventlog import EventLog
from ledger.settings import Settings
from ledger.waits import cancel_and_wait
from services.projections.service import run
from tests.projections.proc import applied_seq, eventually


@contextlib.asynccontextmanager
async def live_projector(log: EventLog, nats_url: str, ledger_db: str, data_dir: Path,
                         **overrides: int) -> AsyncIterator[asyncio.Task[None]]:
    """Yields the service's task: done while inside means it crashed (task.result() raises the crash)."""
    settings = Settings(nats_url=nats_url, database_url=ledger_db, prefix=log.subjects.prefix, data_dir=data_dir,
                        **overrides)  # type: ignore[arg-type]
    ready = asyncio.Event()
    task = asyncio.create_task(run(settings, ready=ready))
    waiter = asyncio.create_task(ready.wait())
    await asyncio.wait([task, waiter], timeout=30, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        task.result()
    try:
        yield task
    finally:
        await cancel_and_wait([task])


async def caught_up(conn: asyncpg.Connection, log: EventLog, limit: float = 60) -> int:
    end = await log.last_seq()

    async def done() -> bool:
        return await applied_seq(conn) >= end

    await eventually(done, limit, f"the live ledger to reach sequence {end}")
    return end
