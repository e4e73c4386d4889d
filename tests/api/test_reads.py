"""What a request reads besides its answer: the catalog once (for a named build), this month once.

The app here has a pool of one connection, so a query logger on it sees every statement of a request.
The app (and its pool) runs on the test client's portal loop, in another thread: the logger is added
there, and the portal is given a turn before the statements are read.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import msgspec
import pytest
from litestar.testing import AsyncTestClient

from ledger.settings import Settings
from services.api.app import create_app
from services.api.builds import LIVE, Build, named
from tests.api.conftest import HOLDERS, PREFIX, VIEWER

Client = AsyncTestClient[Any]
CATALOG = ("ledger_meta.builds", "ledger_meta.live")
THIS_MONTH = "date_trunc('month'"


class Logged(msgspec.Struct):
    client: Client
    statements: list[str]

    async def get(self, path: str, **params: Any) -> tuple[Any, list[str]]:
        """The body of GET `path` and the statements the request ran."""
        self.statements.clear()
        r = await self.client.get(path, params=params)
        assert r.status_code == 200, r.text
        self.client.blocking_portal.call(asyncio.sleep, 0)  # asyncpg calls a plain logger with call_soon
        return r.json(), list(self.statements)


@pytest.fixture(scope="module")
async def logged(api_db: str, nats_url: str) -> AsyncIterator[Logged]:
    settings = Settings(nats_url=nats_url, database_url=api_db, prefix=PREFIX.prefix)
    async with AsyncTestClient(app=create_app(settings, HOLDERS, pool_size=1)) as client:
        client.headers["Authorization"] = f"Bearer {VIEWER}"
        statements: list[str] = []

        async def listen() -> None:  # on the app's loop (the client's portal), where the pool lives
            pool: asyncpg.Pool = client.app.state.pool
            async with pool.acquire() as conn:  # the pool's only connection: the logger stays on it
                conn.add_query_logger(lambda record: statements.append(record.query))

        client.blocking_portal.call(listen)
        yield Logged(client=client, statements=statements)


def relations(build: Build) -> dict[str, str]:
    return {k: v for k, v in msgspec.structs.asdict(build).items() if k not in ("name", "as_of_day")}


def test_a_named_build_carries_its_as_of_day_as_a_literal() -> None:
    build = named("audit_x", as_of_day=dt.date(2026, 3, 1))
    assert build.today == "'2026-03-01'::date"
    assert not [k for k, sql in relations(build).items() if "ledger_meta" in sql]
    for k in ("projects", "project_stages", "project_blockers"):
        assert "< '2026-03-01'::date" in getattr(build, k)
    assert named("full_rebuild", as_of_day=None).today == LIVE.today == "ledger_meta.today()"
    with pytest.raises(TypeError):
        named("audit_x", as_of_day=dt.datetime(2026, 3, 1, tzinfo=dt.UTC))


@pytest.mark.parametrize(("path", "params"), [
    ("/api/v1/projects", {"schema": "audit_then", "total": "true", "overdue": "true"}),
    ("/api/v1/projects/P-007", {"schema": "audit_then"}),
    ("/api/v1/deadlines", {"schema": "audit_then", "overdue": "false"}),
    ("/api/v1/overview", {"schema": "audit_then"}),
    ("/api/v1/departments/ranking", {"schema": "audit_march"}),
])
async def test_a_request_to_a_named_build_reads_the_catalog_once(logged: Logged, path: str,
                                                                  params: dict[str, str]) -> None:
    _, statements = await logged.get(path, **params)
    assert len(statements) > 2  # the logger sees the request: BEGIN, the reads, COMMIT
    catalog = [s for s in statements if any(t in s for t in CATALOG)]
    assert len(catalog) == 1, catalog  # resolve(): status, as-of day and the live pointer in one statement


@pytest.mark.parametrize(("path", "params", "reads"), [
    ("/api/v1/departments/ranking", {}, 1),
    ("/api/v1/departments/ranking", {"month": "2026-01"}, 1),
    ("/api/v1/overview", {}, 1),
    ("/api/v1/departments/ranking", {"schema": "audit_march"}, 1),  # no as_of: judged on today
    ("/api/v1/departments/ranking", {"schema": "audit_then"}, 0),  # its as-of day is known since resolve()
    ("/api/v1/overview", {"schema": "audit_then"}, 0),
])
async def test_this_month_is_read_at_most_once_per_request(logged: Logged, path: str, params: dict[str, str],
                                                          reads: int) -> None:
    _, statements = await logged.get(path, **params)
    assert len(statements) > 2  # the logger saw the request (a 0 below is not a logger that saw nothing)
    assert len([s for s in statements if THIS_MONTH in s]) == reads


async def test_the_current_month_is_the_as_of_month_for_an_audit_build(logged: Logged, api_db: str) -> None:
    conn = await asyncpg.connect(api_db)
    try:
        today: dt.date = await conn.fetchval("SELECT ledger_meta.today()")
    finally:
        await conn.close()
    then, _ = await logged.get("/api/v1/departments/ranking", schema="audit_then")  # as of five days ago
    assert then["month"] == (today - dt.timedelta(days=5)).replace(day=1).isoformat()
    now, _ = await logged.get("/api/v1/departments/ranking", schema="audit_march")
    assert now["month"] == today.replace(day=1).isoformat()
    live, _ = await logged.get("/api/v1/departments/ranking")
    assert live["month"] == now["month"]
