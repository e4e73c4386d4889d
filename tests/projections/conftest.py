"""Per test: a provisioned event log under the test's prefix and a fresh database of its own.

A database per test (not a schema) because the catalog (`ledger_meta`) and the reader views
(`ledger`) are fixed names: tests that switch the live build must not see each other.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from nats.aio.client import Client as NATS

from contracts.subjects import Subjects
from ledger.eventlog import EventLog, provision
from tests.projections.workload import append_all, commits


@pytest.fixture
async def log(nc: NATS, subjects: Subjects) -> EventLog:
    await provision(nc.jetstream(), subjects)
    return EventLog(nc, subjects)


@pytest.fixture
async def ledger_db(database_url: str) -> AsyncIterator[str]:
    name = "l_" + uuid.uuid4().hex[:12]
    admin = await asyncpg.connect(database_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = database_url.rsplit("/", 1)[0] + "/" + name
    yield url
    # A connection of its own for the drop: one held idle through a long test was once found closed.
    admin = await asyncpg.connect(database_url)
    try:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
async def conn(ledger_db: str) -> AsyncIterator[asyncpg.Connection]:
    c = await asyncpg.connect(ledger_db)
    yield c
    await c.close()


async def fill(log: EventLog, events: int, *, seed: int = 7, prefix: str = "P") -> int:
    return await append_all(log.nc, log.subjects, commits(seed, events, prefix=prefix))
