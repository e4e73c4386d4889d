"""An authenticated nats-server (generated config) for intake tests, sources, and a running intake."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import itertools
import json
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import msgspec
import nats
import pytest
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg

from contracts.codec import decode_receipt
from contracts.receipts import Accepted, Rejected
from contracts.subjects import Subjects
from ledger.clock import FixedClock
from ledger.eventlog import EventLog, provision
from ledger.runtime.auth import ADMIN, Source, ensure_secrets, inbox_prefix, render_authorization
from ledger.runtime.nats import NatsServer, render_config
from ledger.runtime.ports import free_port
from ledger.settings import Settings
from services.intake.app import IntakeConfig, Running, running
from tests.intake.standin import StagesStandIn
from tests.waiting import eventually

NOW = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)
SOURCES = {
    "window": Source(id="window", name="政务服务大厅窗口", password="window-secret"),
    "landsys": Source(id="landsys", name="用地审批系统", password="landsys-secret"),
    "registry": Source(id="registry", name="不动产登记系统", password="registry-secret",
                       commands=("SupplyDocuments",)),
}
PREFIXES = [Subjects(prefix=f"it{i:02d}") for i in range(80)]
_next_prefix = itertools.count()


class AuthServer(msgspec.Struct, frozen=True, kw_only=True):
    url: str
    passwords: dict[str, str]


@contextlib.contextmanager
def serving_auth(root: Path, prefixes: list[Subjects],
                 edit: Callable[[dict[str, Any]], None] | None = None) -> Iterator[AuthServer]:
    """A nats-server in `root` with the generated authorization for `prefixes` (`edit` may change the
    rendered users first, e.g. to stand for permissions rendered by an older version)."""
    passwords = ensure_secrets(root / "secrets")
    block = render_authorization(prefixes, SOURCES, passwords)
    if edit is not None:
        users = json.loads(block.removeprefix("authorization "))
        edit(users)
        block = "authorization " + json.dumps(users)
    port = free_port()
    conf = root / "nats.conf"
    # Every test's inbound stream reserves its 1 GiB max_bytes against the server's file store, which
    # defaults to 75% of the free disk: with < ~35 GB free the later tests failed to create streams
    # ('insufficient storage resources available'). Likewise each receipts stream reserves 256 MiB of
    # memory store (default 75% of the RAM: ~40 tests need ~10 GiB). The streams hold a few MB in fact.
    conf.write_text(render_config(port=port, store_dir=root / "js", authorization=block,
                                  max_file_store="1TB", max_mem_store="1TB"))
    server = NatsServer(conf, port, log_file=root / "nats.log")
    server.start()
    try:
        yield AuthServer(url=server.url, passwords=passwords)
    finally:
        server.stop()


@pytest.fixture(scope="session")
def auth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AuthServer]:
    with serving_auth(tmp_path_factory.mktemp("nats-auth"), PREFIXES) as server:
        yield server


@pytest.fixture
def subjects() -> Subjects:
    """Each test its own prefix out of the ones the generated config knows (never one used before:
    its streams and keys would leak into this test)."""
    n = next(_next_prefix)
    if n >= len(PREFIXES):
        pytest.fail(f"the intake tests' server knows {len(PREFIXES)} prefixes, all used: add more to PREFIXES")
    return PREFIXES[n]


async def login(server: AuthServer, user: str, **kwargs: object) -> NATS:
    password = SOURCES[user].password if user in SOURCES else server.passwords[user]
    kwargs.setdefault("inbox_prefix", inbox_prefix(user))  # its own replies only, as ledger.natsconn.connect does
    return await nats.connect(server.url, user=user, password=password, name=user, **kwargs)  # type: ignore[arg-type,unused-ignore]


@pytest.fixture
async def admin(auth_server: AuthServer, subjects: Subjects) -> AsyncIterator[NATS]:
    nc = await login(auth_server, ADMIN)
    await provision(nc.jetstream(), subjects)
    yield nc
    await nc.drain()


@pytest.fixture
async def log(admin: NATS, subjects: Subjects) -> EventLog:
    return EventLog(admin, subjects)


@pytest.fixture
async def window(auth_server: AuthServer) -> AsyncIterator[NATS]:
    nc = await login(auth_server, "window")
    yield nc
    await nc.close()


def intake_settings(server: AuthServer, subjects: Subjects, database_url: str | None = None) -> Settings:
    """What intake runs with: its own identity on `server`, under `subjects`' prefix."""
    return Settings(nats_url=server.url, database_url=database_url, prefix=subjects.prefix,
                    nats_user="intake", nats_password=server.passwords["intake"])


def intake_config(server: AuthServer, subjects: Subjects, database_url: str, schema: str, **kw: object) -> IntakeConfig:
    settings = intake_settings(server, subjects, database_url)
    return IntakeConfig(settings=settings, allowed={s.id: s.commands for s in SOURCES.values()}, schema=schema,
                        clock=FixedClock(NOW), **{"stages_timeout": 5.0, **kw})  # type: ignore[arg-type]


@pytest.fixture
async def intake(
    auth_server: AuthServer, admin: NATS, subjects: Subjects, database_url: str, pg_schema: str
) -> AsyncIterator[Running]:
    async with running(intake_config(auth_server, subjects, database_url, pg_schema)) as app:
        yield app


@pytest.fixture
async def stages(auth_server: AuthServer, admin: NATS, subjects: Subjects) -> AsyncIterator[StagesStandIn]:
    nc = await login(auth_server, "stages")
    standin = StagesStandIn(nc, subjects)
    await standin.start()
    yield standin
    await nc.drain()


async def collect_receipts(window: NATS, subjects: Subjects) -> list[Accepted | Rejected]:
    """The window's receipts, appended to the returned list as they arrive."""
    receipts: list[Accepted | Rejected] = []

    async def on_receipt(msg: Msg) -> None:
        receipts.append(decode_receipt(msg.data))

    await window.subscribe(subjects.receipts("window"), cb=on_receipt)
    return receipts


async def wait_for(condition: Callable[[], object], within: float = 10.0) -> None:
    """Poll an async or sync predicate until true, or fail after `within` seconds (tests.waiting)."""

    async def probe() -> object:
        result = condition()
        return await result if asyncio.iscoroutine(result) else result

    await eventually(probe, within=within, poll=0.01)


def fixture_path(name: str) -> Path:
    return Path(__file__).parent / name
