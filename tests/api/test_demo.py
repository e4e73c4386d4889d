"""The demo year through intake against the real services: deterministic, idempotent, and what the API shows."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from ledger.cli.demo import load_demo
from ledger.demo.scenario import scenario, summary
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
