"""Session fixtures: a real nats-server and a real Postgres (from the wheels, or the env URLs)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import nats
import pytest
from nats.aio.client import Client as NATS

from contracts.subjects import Subjects
from ledger.runtime.nats import NatsServer, render_config
from ledger.runtime.ports import free_port
from ledger.runtime.postgres import PostgresServer
from tests.netcut import NetCut


@pytest.fixture(scope="session")
def nats_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = os.environ.get("LEDGER_NATS_URL")
    if url:
        yield url
        return
    root = tmp_path_factory.mktemp("nats")
    port = free_port()
    conf = root / "nats.conf"
    conf.write_text(render_config(port=port, store_dir=root / "js"))
    server = NatsServer(conf, port, log_file=root / "nats.log")
    server.start()
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = os.environ.get("LEDGER_DATABASE_URL")
    if url:
        yield url
        return
    root = tmp_path_factory.mktemp("pg")
    # Tests trade Postgres durability for speed; the ledger's own durability is JetStream's.
    server = PostgresServer(root / "data", free_port(), log_file=root / "pg.log",
                            options={"fsync": "off", "synchronous_commit": "off", "max_connections": "200"})
    server.start()
    yield server.url()
    server.stop()


@pytest.fixture
def subjects() -> Subjects:
    """A unique prefix per test: its own streams and subjects on the shared server."""
    return Subjects(prefix="t" + uuid.uuid4().hex[:10])


@pytest.fixture
async def nc(nats_url: str) -> AsyncIterator[NATS]:
    client = await nats.connect(nats_url)
    yield client
    await client.drain()


@pytest.fixture
async def pg_schema(database_url: str) -> AsyncIterator[str]:
    """A unique, empty schema per test, dropped afterwards."""
    name = "t_" + uuid.uuid4().hex[:12]
    conn = await asyncpg.connect(database_url)
    await conn.execute(f'CREATE SCHEMA "{name}"')
    yield name
    await conn.execute(f'DROP SCHEMA "{name}" CASCADE')
    await conn.close()


def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


@pytest.fixture
async def netcut(nats_url: str) -> AsyncIterator[NetCut]:
    """A TCP proxy in front of the test server (tests/netcut.py): connect through `netcut.url`."""
    proxy = NetCut(nats_url)
    await proxy.start()
    yield proxy
    await proxy.close()
