"""Contract: departments' months and ranking, permits, overview, deadlines, alerts, builds."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import AsyncTestClient

Client = AsyncTestClient[Any]


async def get(client: Client, path: str, **params: Any) -> Any:
    r = await client.get(path, params=params)
    assert r.status_code == 200, r.text
    return r.json()


async def test_department_months_with_rates_and_rank(client: Client) -> None:
    rows = await get(client, "/api/v1/departments/months", year=2026, department="规划选址科")
    assert [r["month"] for r in rows][-1] == "2026-01-01"
    jan = rows[-1]
    assert (jan["completed"], jan["on_time_rate"], jan["rank"]) == (3, 1.0, 1)
    assert await get(client, "/api/v1/departments/months", month="2026-01") == [jan]


async def test_ranking_of_this_month_names_the_red_and_black_lists(client: Client) -> None:
    body = await get(client, "/api/v1/departments/ranking")
    ranked = {d["department"]: d for d in body["departments"]}
    assert ranked["规划选址科"]["rank"] == 1 and ranked["土地利用科"]["rank"] == 2
    assert ranked["土地利用科"]["list"] == "black" and ranked["土地利用科"]["late"] == 2
    assert ranked["土地利用科"]["on_time_rate"] == 0.75
    # 规划选址科 has an overdue open stage (P-005 …), so it is black too despite its perfect month
    assert ranked["规划选址科"]["open_overdue"] > 0 and ranked["规划选址科"]["list"] == "black"
    jan = await get(client, "/api/v1/departments/ranking", month="2026-01")
    assert jan["month"] == "2026-01-01" and jan["departments"][0]["completed"] == 3


async def test_permits_by_kind_with_areas(client: Client) -> None:
    body = await get(client, "/api/v1/permits", year=2026)
    kinds = {k["kind"]: k for k in body["by_kind"]}
    assert kinds["land_use_planning_permit"] == {"kind": "land_use_planning_permit", "issued": 3,
                                                 "land_area_m2": 1070400.0, "floor_area_m2": 0.0}
    assert body["total_issued"] == 8
    assert (await get(client, "/api/v1/permits", month="2026-01"))["total_issued"] == 5
    assert (await get(client, "/api/v1/permits", year=2025))["by_kind"] == []


async def test_overview_counts(client: Client) -> None:
    body = await get(client, "/api/v1/overview")
    assert body["projects"] == 29 and body["withdrawn"] == 1
    cats = {c["key"]: c["count"] for c in body["by_category"]}
    assert len(cats) == 9 and cats["land_needed"] == 10 and sum(cats.values()) == 29
    assert body["overdue_projects"] == 6 and body["overdue_blockers"] == 4
    assert {(b["side"], b["cause"]): b["count"] for b in body["open_blockers"]} == {
        ("government", "land_not_cleared"): 4, ("enterprise", "insufficient_funds"): 2}
    assert body["key_projects"]["total"] == 7
    audit = await get(client, "/api/v1/overview", schema="audit_march")
    assert audit["projects"] == 10


async def test_deadlines_most_urgent_first_and_overdue_filter(client: Client) -> None:
    body = await get(client, "/api/v1/deadlines", limit=500)
    dues = [d["due_on"] for d in body["items"]]
    assert dues == sorted(dues) and all(d["project_id"] != "P-029" for d in body["items"])
    overdue = await get(client, "/api/v1/deadlines", overdue="true", limit=500)
    stages = {(f"P-{i:03d}", "stage") for i in (5, 10, 15, 20, 25, 30)}
    assert {(d["project_id"], d["kind"]) for d in overdue["items"]} == (
        stages | {(f"P-{i:03d}", "blocker") for i in (7, 14, 21, 28)})
    assert all(d["overdue"] and d["days_overdue"] >= 1 for d in overdue["items"])
    blockers = await get(client, "/api/v1/deadlines", kind="blocker")
    assert {d["ref"] for d in blockers["items"]} == {"b1"}


async def test_deadline_pages_cover_everything_once(client: Client) -> None:
    everything = [(d["project_id"], d["kind"], d["ref"]) for d in (await get(client, "/api/v1/deadlines"))["items"]]
    seen: list[tuple[str, str, str]] = []
    cursor = None
    while True:
        body = await get(client, "/api/v1/deadlines", limit=4, **({"cursor": cursor} if cursor else {}))
        seen += [(d["project_id"], d["kind"], d["ref"]) for d in body["items"]]
        if not (cursor := body["next_cursor"]):
            break
    assert seen == everything


async def test_alerts_newest_first_with_filters_and_pages(client: Client) -> None:
    body = await get(client, "/api/v1/alerts")
    assert [a["seq"] for a in body["items"]] == [105, 104, 103, 102, 101]
    assert [a["project_id"] for a in (await get(client, "/api/v1/alerts", level="red"))["items"]] == [
        "P-005", "P-003", "P-001"]
    first = await get(client, "/api/v1/alerts", limit=2)
    second = await get(client, "/api/v1/alerts", limit=2, cursor=first["next_cursor"])
    assert [a["seq"] for a in second["items"]] == [103, 102]


async def test_builds_lists_the_catalog(client: Client) -> None:
    builds = {b["name"]: b for b in await get(client, "/api/v1/builds")}
    assert builds["ledger_v1"]["live"] and builds["audit_march"]["status"] == "ready"


@pytest.mark.parametrize(("path", "params", "parameter"), [
    ("/api/v1/departments/months", {"month": "2026-13"}, "month"),
    ("/api/v1/departments/ranking", {"month": "March"}, "month"),
    ("/api/v1/permits", {"year": "1999"}, "year"),
    ("/api/v1/permits", {"year": "soon"}, "year"),
    ("/api/v1/deadlines", {"kind": "meeting"}, "kind"),
    ("/api/v1/deadlines", {"cursor": "abc"}, "cursor"),
    ("/api/v1/alerts", {"level": "purple"}, "level"),
    ("/api/v1/alerts", {"status": "lost"}, "status"),
    ("/api/v1/overview", {"schema": "pg_catalog"}, "schema"),
    ("/api/v1/deadlines", {"schema": "ledger_meta"}, "schema"),
])
async def test_bad_parameters_name_themselves(client: Client, path: str, params: dict[str, str],
                                              parameter: str) -> None:
    r = await client.get(path, params=params)
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "bad_parameter" and r.json()["parameter"] == parameter


async def test_a_past_month_is_judged_on_its_own_completions(client: Client) -> None:
    jan = (await get(client, "/api/v1/departments/ranking", month="2026-01"))["departments"]
    first = next(d for d in jan if d["department"] == "规划选址科")
    assert first["late"] == 0 and first["open_overdue"] > 0 and first["list"] == "red"
