"""Contract: GET /api/v1/projects — filters, sort, cursor pages, as-of builds, parameter errors."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import AsyncTestClient

Client = AsyncTestClient[Any]


async def ids(client: Client, **params: Any) -> list[str]:
    r = await client.get("/api/v1/projects", params={"limit": 500, **params})
    assert r.status_code == 200, r.text
    return [p["id"] for p in r.json()["items"]]


async def test_lists_every_project_in_id_order(client: Client) -> None:
    assert await ids(client) == [f"P-{i:03d}" for i in range(1, 31)]


@pytest.mark.parametrize(("params", "expected"), [
    ({"district": "花都区"}, [i for i in range(1, 31) if i % 2 == 0]),
    ({"track": "continuing"}, [i for i in range(1, 31) if i % 3 == 0]),
    ({"category": "land_needed"}, [i for i in range(1, 31) if i % 3 == 0]),
    ({"stage": "land_guarantee"}, [i for i in range(1, 31) if i % 3 == 0]),
    ({"overdue": "true"}, [i for i in range(1, 31) if i % 5 == 0 and i != 29]),
    ({"key_project": "true"}, [i for i in range(1, 31) if i % 4 == 0]),
    ({"withdrawn": "true"}, [29]),
    ({"blocker_side": "government"}, [7, 14, 21, 28]),
    ({"blocker_side": "enterprise"}, [11, 22]),
    ({"blocker_cause": "insufficient_funds"}, [11, 22]),
    ({"blocker_cause": "land_not_cleared", "blocker_side": "enterprise"}, []),
    ({"q": "黄边"}, [1]),
    ({"q": "%"}, []),
    ({"q": "_"}, []),
    ({"q": "企业3"}, [i for i in range(2, 31) if i % 4 == 3]),
    ({"district": "白云区", "key_project": "false", "track": "new"},
     [i for i in range(1, 31) if i % 2 and i % 4 and i % 3]),
])
async def test_filters_select_exactly_the_matching_projects(client: Client, params: dict[str, str],
                                                            expected: list[int]) -> None:
    assert await ids(client, **params) == [f"P-{i:03d}" for i in expected]


async def test_cursor_pages_cover_every_project_once_in_sort_order(client: Client) -> None:
    for sort in ("id", "-id", "name", "-name", "-received_on", "received_on", "next_due_on", "-next_due_on"):
        seen: list[str] = []
        cursor = None
        while True:
            params = {"limit": 7, "sort": sort} | ({"cursor": cursor} if cursor else {})
            body = (await client.get("/api/v1/projects", params=params)).json()
            seen += [p["id"] for p in body["items"]]
            cursor = body["next_cursor"]
            if cursor is None:
                break
        assert sorted(seen) == sorted(set(seen)) and len(seen) == 30, sort
        assert seen == await ids(client, sort=sort), sort


async def test_total_counts_all_matches_not_just_the_page(client: Client) -> None:
    body = (await client.get("/api/v1/projects", params={"limit": 2, "total": "true", "district": "白云区"})).json()
    assert body["total"] == 15 and len(body["items"]) == 2


async def test_items_carry_the_ledger_columns(client: Client) -> None:
    body = (await client.get("/api/v1/projects", params={"q": "黄边"})).json()
    p = body["items"][0]
    assert p["name"] == "黄边村城市更新项目" and p["district"] == "白云区" and p["open_stages"] == ["site_selection"]
    assert set(p) >= {"category", "overdue", "next_due_on", "key_project", "open_gov_blockers"}


async def test_schema_reads_an_audit_build(client: Client) -> None:
    assert await ids(client, schema="audit_march") == [f"P-{i:03d}" for i in range(1, 11)]
    assert await ids(client, schema="audit_march", overdue="true") == ["P-005", "P-010"]
    assert await ids(client, schema="audit_march", blocker_side="government") == ["P-007"]
    assert await ids(client, schema="ledger_v1") == await ids(client)


async def test_an_audit_build_judges_overdue_on_its_as_of_day_not_today(client: Client) -> None:
    # audit_then is the ledger as of five days ago: P-005's stage (due three days ago) and P-007's blocker
    # (due yesterday) were not overdue then, though both are open in it and their due dates are past now.
    assert await ids(client, schema="audit_then") == [f"P-{i:03d}" for i in range(1, 11)]
    assert await ids(client, schema="audit_then", overdue="true") == []
    deadlines = (await client.get("/api/v1/deadlines", params={"schema": "audit_then", "limit": 500})).json()
    assert deadlines["items"] and not any(d["overdue"] or d["days_overdue"] for d in deadlines["items"])
    assert {d["project_id"] for d in deadlines["items"]} >= {"P-005", "P-007"}
    overview = (await client.get("/api/v1/overview", params={"schema": "audit_then"})).json()
    assert overview["overdue_projects"] == 0 and overview["overdue_stages"] == 0


@pytest.mark.parametrize(("params", "parameter"), [
    ({"limit": "0"}, "limit"),
    ({"limit": "501"}, "limit"),
    ({"limit": "many"}, "limit"),
    ({"overdue": "maybe"}, "overdue"),
    ({"track": "old"}, "track"),
    ({"category": "nine"}, "category"),
    ({"blocker_side": "both"}, "blocker_side"),
    ({"blocker_cause": "bad_luck"}, "blocker_cause"),
    ({"sort": "enterprise"}, "sort"),
    ({"sort": "district"}, "sort"),
    ({"cursor": "!!!"}, "cursor"),
    ({"schema": "nope"}, "schema"),
    ({"schema": "half_built"}, "schema"),
    ({"schema": 'x"; DROP SCHEMA ledger CASCADE; --'}, "schema"),
])
async def test_bad_parameters_get_400_naming_the_parameter(client: Client, params: dict[str, str],
                                                           parameter: str) -> None:
    r = await client.get("/api/v1/projects", params=params)
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["code"] == "bad_parameter" and body["parameter"] == parameter
    assert f"'{parameter}'" in body["message"]


async def test_a_cursor_from_another_sort_is_refused(client: Client) -> None:
    cursor = (await client.get("/api/v1/projects", params={"limit": 3, "sort": "name"})).json()["next_cursor"]
    r = await client.get("/api/v1/projects", params={"limit": 3, "sort": "id", "cursor": cursor})
    assert r.status_code == 400 and r.json()["parameter"] == "cursor"


async def test_one_project_with_stages_blockers_deadlines_and_history(client: Client) -> None:
    r = await client.get("/api/v1/projects/P-007")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["project"]["id"] == "P-007"
    assert [s["stage"] for s in body["stages"]] == ["site_selection"]
    assert [(b["blocker_id"], b["side"], b["overdue"]) for b in body["blockers"]] == [("b1", "government", True)]
    assert {(d["kind"], d["ref"]) for d in body["deadlines"]} == {("stage", "site_selection"), ("blocker", "b1")}
    history = (await client.get("/api/v1/projects/P-001")).json()["history"]
    assert [h["type"] for h in history] == ["ApplicationReceived", "StageOpened"]
    assert history[0]["payload"] == {"name": "黄边村城市更新项目"}


async def test_an_unknown_project_is_404_json(client: Client) -> None:
    r = await client.get("/api/v1/projects/NOPE-1")
    assert r.status_code == 404
    assert r.json()["code"] == "not_found" and "NOPE-1" in r.json()["message"]
    r = await client.get("/api/v1/projects/P-015", params={"schema": "audit_march"})
    assert r.status_code == 404
