"""The demo year through intake against the real services: deterministic, idempotent, and what the API shows."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import asyncpg
import httpx
import nats
import pytest

from ledger.cli.demo import load_demo
from ledger.demo.scenario import scenario, summary
from ledger.eventlog import EventLog
from ledger.projection.build import build
from tests.api.system import System, caught_up


def test_the_scenario_is_deterministic_for_a_seed() -> None:
    first, again, other = scenario(), scenario(), scenario(7)
    assert [s.steps for s in first] == [s.steps for s in again]
    assert {s.project_id for s in other}.isdisjoint({s.project_id for s in first})
    keys = [step.submission.idempotency_key for s in first for step in s.steps]
    assert len(keys) == len(set(keys))
    plan = summary(first)
    assert plan["SubmitApplication"] == len(first) and plan["PassStage"] > 200


async def test_running_the_demo_twice_appends_nothing(demo_system: System) -> None:
    before = await caught_up(demo_system)
    report = await load_demo(demo_system.settings, say=False)
    assert report.accepted == 0 and not report.rejected
    assert report.duplicates == sum(len(s.steps) for s in scenario())
    assert await caught_up(demo_system) == before


async def test_the_api_shows_the_demo_year(demo_system: System) -> None:
    auth = {"Authorization": f"Bearer {demo_system.viewer}"}
    async with httpx.AsyncClient(base_url=demo_system.api_url, headers=auth) as http:
        overview = (await http.get("/api/v1/overview")).json()
        assert overview["projects"] == len(scenario()) - 1  # one application is withdrawn
        assert overview["overdue_stages"] > 0 and overview["open_blockers"]
        permits = {k["kind"]: k for k in (await http.get("/api/v1/permits", params={"year": 2026})).json()["by_kind"]}
        # the volume reproduces Gongyi's year (seed 003); the seed cases add their own permits
        assert permits["land_use_planning_permit"]["issued"] == 35 + 2
        assert permits["land_use_planning_permit"]["land_area_m2"] == pytest.approx(1_070_400 + 36_821.45 + 52_000)
        assert permits["engineering_planning_permit"]["issued"] == 25
        assert permits["engineering_planning_permit"]["floor_area_m2"] == pytest.approx(1_209_000)
        huangbian = (await http.get("/api/v1/projects", params={"q": "黄边村"})).json()["items"][0]
        detail = (await http.get(f"/api/v1/projects/{huangbian['id']}")).json()
        types = [h["type"] for h in detail["history"]]
        assert types[:2] == ["ApplicationReceived", "StageOpened"] and "ClockSuspended" in types
        assert {b["blocker_id"]: b["status"] for b in detail["blockers"]} == {"redline": "resolved", "funds": "open"}
        ranking = (await http.get("/api/v1/departments/ranking", params={"month": "2026-06"})).json()
        assert ranking["departments"] and {d["list"] for d in ranking["departments"]} & {"red", "black"}


def test_demo_logs_are_kept(demo_system: System) -> None:
    assert Path(demo_system.logs / "intake.log").exists()


async def test_lists_read_as_of_a_rebuilt_audit_build(demo_system: System) -> None:
    """`ledger replay --as-of 2026-04-01` style build: the API reads the ledger as it stood on 1 April."""
    nc = await nats.connect(demo_system.settings.nats_url or "")
    conn = await asyncpg.connect(demo_system.settings.database_url)
    try:
        at = dt.datetime(2026, 4, 1, tzinfo=dt.UTC)
        built = await build(conn, EventLog(nc, demo_system.settings.subjects), name="audit_20260401", as_of=at,
                            by="occurred", switch=False)
    finally:
        await conn.close()
        await nc.close()
    auth = {"Authorization": f"Bearer {demo_system.viewer}"}
    async with httpx.AsyncClient(base_url=demo_system.api_url, headers=auth) as http:
        then = (await http.get("/api/v1/projects", params={"schema": built.schema, "total": "true"})).json()
        now = (await http.get("/api/v1/projects", params={"total": "true"})).json()
        assert 0 < then["total"] < now["total"]
        assert all(p["received_on"] < "2026-04-01" for p in then["items"])
        for path in ("/api/v1/overview", "/api/v1/deadlines", "/api/v1/permits", "/api/v1/departments/months",
                     "/api/v1/departments/ranking", "/api/v1/alerts"):
            assert (await http.get(path, params={"schema": built.schema})).status_code == 200, path
        builds = {b["name"]: b for b in (await http.get("/api/v1/builds")).json()}
        assert builds[built.schema]["kind"] == "audit" and builds[built.schema]["as_of"].startswith("2026-04-01")
