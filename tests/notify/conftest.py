"""Fixtures for notify: a provisioned log, loopback receivers, a controllable clock, replicas in-process."""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol

import asyncpg
import pytest
from nats.aio.client import Client as NATS

from contracts.subjects import Subjects
from ledger.eventlog import EventLog, provision
from services.notify.app import Notify, running
from services.notify.config import NotifyConfig, parse_config
from services.notify.policy import AlertPolicy
from tests.notify.receivers import SECRET, Receivers


class ManualClock:
    """Time moves only when the test says so; moving it wakes the schedulers that listen."""

    def __init__(self, at: dt.datetime) -> None:
        self.at = at
        self.listeners: list[Callable[[], None]] = []

    def now(self) -> dt.datetime:
        return self.at

    def set(self, at: dt.datetime) -> None:
        self.at = at
        for wake in self.listeners:
            wake()

    def advance(self, delta: dt.timedelta) -> None:
        self.set(self.at + delta)


@pytest.fixture
async def log(nc: NATS, subjects: Subjects) -> EventLog:
    await provision(nc.jetstream(), subjects)
    return EventLog(nc, subjects)


@pytest.fixture
def schema() -> str:
    return "n_" + uuid.uuid4().hex[:12]


@pytest.fixture
async def db(database_url: str, schema: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(database_url)
    yield conn
    await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    await conn.close()


@pytest.fixture
async def receivers() -> AsyncIterator[Receivers]:
    r = Receivers()
    runner = await r.start()
    yield r
    await runner.cleanup()


def routes_config(r: Receivers, *, rate: int = 0, attempts: int = 3, lease: float = 300.0, timeout: float = 5.0,
                  **extra: Any) -> NotifyConfig:
    """Four loopback targets. `timeout` is each request's: generous, since the receivers share the test's
    loop with the replicas (a retry after a late answer would count as a duplicate delivery)."""
    raw: dict[str, Any] = {
        "targets": {
            "dept_wecom": {"channel": "wecom", "url": r.url("/wecom?key=wecom-key"), "rate_per_minute": rate},
            "leader_dingtalk": {"channel": "dingtalk", "url": r.url("/dingtalk?access_token=ding-token"),
                                "secret_name": "ding", "rate_per_minute": rate, "mentions": ["13800000000"]},
            "leader_feishu": {"channel": "feishu", "url": r.url("/feishu"), "secret_name": "feishu"},
            "oa_hook": {"channel": "webhook", "url": r.url("/hook"), "secret_name": "hook"},
        },
        "routes": [
            {"departments": ["*"], "levels": ["yellow", "red", "overdue"], "targets": ["dept_wecom"]},
            {"levels": ["escalation"], "targets": ["leader_dingtalk"]},
        ],
        "transport": {"attempts": attempts, "backoff_initial": 0.05, "backoff_max": 0.2, "timeout_seconds": timeout,
                      "lease_seconds": lease, "breaker_failures": 100},
    }
    raw.update(extra)
    return parse_config(raw, {"ding": SECRET, "feishu": SECRET, "hook": SECRET})


def hook_only(r: Receivers, *, lease: float) -> NotifyConfig:
    """Yellow alerts to the webhook target only, with the given lease: one delivery path to watch."""
    return routes_config(r, lease=lease, routes=[{"levels": ["yellow"], "targets": ["oa_hook"]}])


class Replica(Protocol):
    """The `replica` fixture: replica(config, clock, policy=…, **running_kw) → one running notify replica."""

    def __call__(self, config: NotifyConfig, clock: ManualClock, policy: AlertPolicy | None = None,
                 **kw: Any) -> contextlib.AbstractAsyncContextManager[Notify]: ...


@pytest.fixture
def replica(log: EventLog, database_url: str, schema: str, db: asyncpg.Connection) -> Replica:
    """replica(config, clock, policy=…) → async context manager of one running notify replica."""

    @contextlib.asynccontextmanager
    async def start(config: NotifyConfig, clock: ManualClock, policy: AlertPolicy | None = None,
                    **kw: Any) -> AsyncIterator[Notify]:
        async with running(log, database_url, schema=schema, config=config, policy=policy or AlertPolicy(),
                           clock=clock, **kw) as n:
            clock.listeners.append(n.scheduler.wake)
            try:
                yield n
            finally:
                clock.listeners.remove(n.scheduler.wake)
    return start
