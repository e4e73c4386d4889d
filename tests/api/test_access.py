"""Contract: bearer tokens and roles, health and readiness, metrics, rejected submissions, OpenAPI."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from nats.aio.client import Client as NATS
from openapi_spec_validator import validate

from ledger.rejected import CODE_HEADER, FIELD_HEADER, MESSAGE_HEADER, TIME_HEADER
from services.api.auth import ensure_demo_tokens, load_tokens
from services.intake import streams
from tests.api.conftest import OPERATOR, PREFIX

Client = AsyncTestClient[Any]
VIEWER_PATHS = ["/api/v1/projects", "/api/v1/projects/P-001", "/api/v1/departments/months",
                "/api/v1/departments/ranking", "/api/v1/permits", "/api/v1/overview", "/api/v1/deadlines",
                "/api/v1/alerts", "/api/v1/builds"]


@pytest.mark.parametrize("path", [*VIEWER_PATHS, "/api/v1/rejected"])
async def test_no_token_is_401_and_a_wrong_token_too(client: Client, path: str) -> None:
    for headers in ({"Authorization": ""}, {"Authorization": "Bearer not-a-token-at-all"},
                    {"Authorization": "Basic dXNlcjpwYXNz"}):
        r = await client.get(path, headers=headers)
        assert r.status_code == 401, (path, headers)
        assert r.json()["code"] == "unauthorized" and r.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize("path", VIEWER_PATHS)
async def test_viewers_and_operators_read_the_ledger(client: Client, path: str) -> None:
    assert (await client.get(path)).status_code == 200
    assert (await client.get(path, headers={"Authorization": f"Bearer {OPERATOR}"})).status_code == 200


async def test_rejected_submissions_need_the_operator_role(client: Client, nc: NATS) -> None:
    r = await client.get("/api/v1/rejected")
    assert r.status_code == 403 and r.json()["code"] == "forbidden" and "operator" in r.json()["message"]
    operator = {"Authorization": f"Bearer {OPERATOR}"}
    assert (await client.get("/api/v1/rejected", headers=operator)).json() == []  # no stream yet: none rejected
    await streams.provision(nc.jetstream(), PREFIX)
    await nc.jetstream().publish(PREFIX.rejected("window"), b'{"bad": json', headers={
        "Ledger-Source": "window", TIME_HEADER: "2026-03-02T01:15:00Z", CODE_HEADER: "malformed",
        FIELD_HEADER: "", MESSAGE_HEADER: "not JSON"})
    body = (await client.get("/api/v1/rejected", headers=operator)).json()
    assert [(e["source"], e["code"], e["raw"]) for e in body] == [("window", "malformed", '{"bad": json')]
    assert (await client.get("/api/v1/rejected", headers=operator, params={"source": "landsys"})).json() == []
    since = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()
    assert (await client.get("/api/v1/rejected", headers=operator, params={"since": since})).json() == []
    r = await client.get("/api/v1/rejected", headers=operator, params={"source": "a.b"})
    assert r.status_code == 400 and r.json()["parameter"] == "source"


async def test_health_readiness_and_metrics_need_no_token(client: Client) -> None:
    anonymous = {"Authorization": ""}
    assert (await client.get("/healthz", headers=anonymous)).json() == {"status": "ok"}
    assert (await client.get("/readyz", headers=anonymous)).json() == {"status": "ready"}
    await client.get("/api/v1/projects")
    text = (await client.get("/metrics", headers=anonymous)).text
    assert 'ledger_api_requests_total{method="GET",route="/api/v1/projects",status="200"}' in text
    assert "ledger_api_request_seconds_bucket" in text


async def test_unknown_paths_are_json_404(client: Client) -> None:
    r = await client.get("/api/v1/nothing-here")
    assert r.status_code == 404 and r.json()["code"] == "not_found"


async def test_the_openapi_document_validates_and_lists_every_endpoint(client: Client) -> None:
    r = await client.get("/schema/openapi.json", headers={"Authorization": ""})
    assert r.status_code == 200
    doc = r.json()
    validate(doc)
    paths = set(doc["paths"])
    assert paths >= {"/api/v1/projects", "/api/v1/projects/{project_id}", "/api/v1/departments/months",
                     "/api/v1/departments/ranking", "/api/v1/permits", "/api/v1/overview", "/api/v1/deadlines",
                     "/api/v1/alerts", "/api/v1/builds", "/api/v1/rejected", "/healthz", "/readyz", "/metrics"}
    params = {p["name"] for p in doc["paths"]["/api/v1/projects"]["get"]["parameters"]}
    assert params >= {"district", "track", "category", "stage", "overdue", "blocker_side", "blocker_cause",
                      "key_project", "q", "sort", "limit", "cursor", "schema"}
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def test_demo_tokens_are_generated_once_and_load(tmp_path: Any) -> None:
    path = ensure_demo_tokens(tmp_path / "auth" / "api_tokens.toml")
    first = path.read_text()
    assert ensure_demo_tokens(path).read_text() == first
    assert sorted(h.role for h in load_tokens(path)) == ["operator", "viewer"]
    (tmp_path / "bad.toml").write_text('[tokens.x]\ntoken = "short"\nrole = "viewer"\n')
    with pytest.raises(ValueError, match="at least 16"):
        load_tokens(tmp_path / "bad.toml")
