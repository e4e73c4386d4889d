"""A database of its own holding a small hand-written ledger (live + one audit build), and an API client."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from contracts.subjects import Subjects
from ledger.cli.demo import load_demo
from ledger.clock import BUREAU_TZ
from ledger.settings import Settings
from services.api.app import create_app
from services.api.auth import Holder
from tests.api.rows import archive_row, insert, new_build, row
from tests.api.system import System, caught_up, running_system

VIEWER = "viewer-token-0123456789abcdef"
OPERATOR = "operator-token-0123456789abcdef"
HOLDERS = [Holder(name="v", token=VIEWER, role="viewer"), Holder(name="o", token=OPERATOR, role="operator")]
PREFIX = Subjects(prefix="api" + uuid.uuid4().hex[:8])


@pytest.fixture(scope="session")
async def api_db(database_url: str) -> AsyncIterator[str]:
    name = "api_" + uuid.uuid4().hex[:10]
    admin = await asyncpg.connect(database_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = database_url.rsplit("/", 1)[0] + "/" + name
    conn = await asyncpg.connect(url)
    try:
        await fill(conn)
    finally:
        await conn.close()
    yield url
    await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    await admin.close()


async def fill(conn: asyncpg.Connection) -> None:
    """30 projects in the live build; the audit builds 'audit_march' and 'audit_then' (as of five days ago,
    when nothing of theirs was overdue yet) hold the first 10 only."""
    live = await new_build(conn, "ledger_v1", live=True, kind="live")
    audit = await new_build(conn, "audit_march", live=False)
    then = await new_build(conn, "audit_then", live=False)
    await new_build(conn, "half_built", live=False)
    await conn.execute("UPDATE ledger_meta.builds SET status = 'building' WHERE name = 'half_built'")
    today: dt.date = await conn.fetchval("SELECT ledger_meta.today()")
    month = today.replace(day=1)
    await conn.execute("UPDATE ledger_meta.builds SET as_of = $1, as_of_by = 'recorded' WHERE name = 'audit_then'",
                       dt.datetime.combine(today - dt.timedelta(days=5), dt.time(), tzinfo=BUREAU_TZ))
    projects, stages, blockers = [], [], []
    for i in range(1, 31):
        pid = f"P-{i:03d}"
        overdue = i % 5 == 0
        due = today - dt.timedelta(days=3) if overdue else today + dt.timedelta(days=i)
        gov, ent = i % 7 == 0, i % 11 == 0
        projects.append(row(
            "projects", id=pid, name="黄边村城市更新项目" if i == 1 else f"测试项目{i:03d}",
            enterprise="广州市白云区鹤龙街黄边经济联合社" if i == 1 else f"企业{i % 4}",
            district="白云区" if i % 2 else "花都区", track="new" if i % 3 else "continuing",
            category="early_study" if i % 3 else "land_needed", key_project=i % 4 == 0,
            received_on=today - dt.timedelta(days=100 - i), withdrawn=i == 29,
            open_stages=["site_selection"] if i % 3 else ["land_guarantee"], next_due_on=due,
            next_due_ref="site_selection", open_gov_blockers=int(gov), open_ent_blockers=int(ent)))
        stages.append(row("project_stages", project_id=pid, stage="site_selection" if i % 3 else "land_guarantee",
                          department="规划选址科" if i % 2 else "土地利用科", opened_on=due - dt.timedelta(days=6),
                          due_on=due))
        if gov:
            blockers.append(row("project_blockers", project_id=pid, blocker_id="b1", side="government",
                                cause="land_not_cleared", due_on=today - dt.timedelta(days=1), raised_on=today))
        if ent:
            blockers.append(row("project_blockers", project_id=pid, blocker_id="b2", side="enterprise",
                                cause="insufficient_funds", department="企业", raised_on=today))
    figures = [row("department_month", department="规划选址科", month=month, completed=10, on_time=10, early=6),
               row("department_month", department="土地利用科", month=month, completed=8, on_time=6, early=1, late=2),
               row("department_month", department="规划选址科", month=dt.date(2026, 1, 1), completed=3, on_time=3)]
    permits = [row("permits", kind="site_selection_opinion", month=dt.date(2026, 1, 1), district="白云区", issued=5),
               row("permits", kind="land_use_planning_permit", month=dt.date(2026, 2, 1), district="白云区",
                   issued=3, land_area_m2=Decimal("1070400.00"), floor_area_m2=Decimal("0"))]
    alerts = [row("alerts", seq=100 + i, idx=0, project_id=f"P-{i:03d}", alert_key=f"k{i}", due_on=today,
                  level="red" if i % 2 else "yellow", sent_at=dt.datetime(2026, 3, 1, tzinfo=dt.UTC))
              for i in range(1, 6)]
    t0 = dt.datetime(2026, 3, 2, 1, 15, tzinfo=dt.UTC)
    archive = [archive_row(1, "P-001", "ApplicationReceived", {"name": "黄边村城市更新项目"}, t0),
               archive_row(2, "P-001", "StageOpened", {"stage": "site_selection"}, t0 + dt.timedelta(minutes=1))]
    for schema, n in ((live, 30), (audit, 10), (then, 10)):
        await insert(conn, schema, "projects", projects[:n])
        await insert(conn, schema, "project_stages", stages[:n])
        await insert(conn, schema, "project_blockers", [b for b in blockers if int(b[0][2:]) <= n])
        await insert(conn, schema, "department_month", figures)
        await insert(conn, schema, "permits", permits)
        await insert(conn, schema, "alerts", alerts)
        await insert(conn, schema, "archive", archive)


@pytest.fixture(scope="session")
async def client(api_db: str, nats_url: str) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    settings = Settings(nats_url=nats_url, database_url=api_db, prefix=PREFIX.prefix)
    async with AsyncTestClient(app=create_app(settings, HOLDERS)) as c:
        c.headers["Authorization"] = f"Bearer {VIEWER}"
        yield c


@pytest.fixture(scope="package")  # its services stop with the package, not at the end of the run
async def demo_system(nats_url: str, database_url: str, tmp_path_factory: pytest.TempPathFactory
                      ) -> AsyncIterator[System]:
    async with running_system(nats_url, database_url, tmp_path_factory.mktemp("system")) as system:
        report = await load_demo(system.settings, say=False)
        assert not report.rejected, f"{report.rejected[:5]}\n{system.tail()}"
        await caught_up(system)
        yield system
