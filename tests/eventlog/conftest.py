"""A provisioned event log per test, under the test's own prefix."""

from __future__ import annotations

import pytest
from nats.aio.client import Client as NATS

from contracts.subjects import Subjects
from ledger.eventlog import EventLog, provision


@pytest.fixture
async def log(nc: NATS, subjects: Subjects) -> EventLog:
    await provision(nc.jetstream(), subjects)
    return EventLog(nc, subjects)
