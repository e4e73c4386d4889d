"""`ledger alerts` reads the outbox: filters by state, prints JSON."""

from __future__ import annotations

import datetime as dt
import json

import asyncpg
import pytest

from ledger.cli import alerts
from ledger.cli.common import CliError
from services.notify.schema import ensure_schema


async def test_ledger_alerts_lists_by_state_as_json(database_url: str, db: asyncpg.Connection, schema: str) -> None:
    await ensure_schema(db, schema)
    at = dt.datetime(2026, 9, 28, 1, tzinfo=dt.UTC)
    for key, state in (("k-sent", "sent"), ("k-pending", "pending"), ("k-failed", "failed")):
        await db.execute(
            f"""INSERT INTO {schema}.alerts (alert_key, deadline_id, project_id, kind, ref, level, level_rank, due_on,
                  target, channel, recipient, department, fire_at, state, created_seq)
                VALUES ($1, 'P1:stage:s', 'P1', 'stage', 's', 'red', 1, '2026-09-30', 't', 'wecom', 't', '科',
                        $2, $3, 1)""",
            key, at, state)
    rows = await alerts.fetch(database_url, schema, "failed", 10)
    assert [r["alert_key"] for r in rows] == ["k-failed"]
    everything = await alerts.fetch(database_url, schema, None, 10)
    assert {r["state"] for r in everything} == {"sent", "pending", "failed"}
    assert json.loads(json.dumps(everything))[0]["fire_at"].startswith("2026-09-28")


async def test_ledger_alerts_says_when_notify_never_ran(database_url: str, schema: str) -> None:
    with pytest.raises(CliError, match="no alerts yet"):
        await alerts.fetch(database_url, schema, None, 10)
