"""Ledger rows written straight into a build's tables (COPY): fixtures for the API tests and the benchmark."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import asyncpg

from ledger.projection import catalog
from ledger.projection.schema import TABLES, names

UTC = dt.UTC
DEFAULTS: dict[str, dict[str, Any]] = {
    "projects": dict(
        name="项目", enterprise="企业", district="白云区", station="", track="new", project_kind="building",
        initiated=False, category="early_study", key_project=False, key_leader=None, key_section=None,
        key_work_plan=None, key_mechanism=None, land_area_m2=None, floor_area_m2=None, received_on=None,
        withdrawn=False, withdrawn_on=None, withdrawn_reason=None, passed_stages=[], open_stages=[],
        missing_documents=[], open_gov_blockers=0, open_ent_blockers=0, next_due_on=None, next_due_ref=None,
        commits=1, version=1, last_hash="0" * 64),
    "project_stages": dict(
        status="open", department="规划选址科", opened_on=None, due_on=None, limit_days=4, statutory_days=30,
        rule="", parallel_group=None, suspended=False, suspended_on=None, suspend_reason=None, suspended_days=0,
        extended_days=0, passed_on=None, returned_on=None, return_reason=None, working_days_used=None,
        on_time=None, early=None, document_kind=None, document_number=None, land_area_m2=None,
        floor_area_m2=None, missing_documents=[], documents_due_on=None, version=1),
    "project_blockers": dict(
        status="open", side="government", cause="land_not_cleared", cause_text="", description="", goal="",
        department="土地储备中心", responsible_person="", due_on=None, stage=None, raised_on=None, resolved_on=None,
        resolution=None, version=1),
    "department_month": dict(completed=0, on_time=0, early=0, late=0, working_days=0),
    "permits": dict(issued=0, land_area_m2=Decimal(0), floor_area_m2=Decimal(0)),
    "alerts": dict(project_id=None, status="sent", deadline_kind="stage", deadline_ref="site_selection",
                   level="yellow", channel="wecom", recipient="规划选址科", sent_at=None, attempts=1, error=None),
    "archive": dict(kind="project", commit_number=1, source="window", actor="窗口", correlation_id="",
                    causation_id="", schema_version=1, prev_hash="0" * 64, commit_hash="0" * 64),
}


def row(table: str, **values: Any) -> tuple[Any, ...]:
    merged = {**DEFAULTS[table], **values}
    missing = [c for c in names(table) if c not in merged]
    if missing:
        raise ValueError(f"{table}: no value for {missing}")
    return tuple(merged[c] for c in names(table))


async def insert(conn: asyncpg.Connection, schema: str, table: str, rows: Iterable[tuple[Any, ...]]) -> None:
    await conn.copy_records_to_table(table, schema_name=schema, columns=list(names(table)), records=list(rows))


async def new_build(conn: asyncpg.Connection, name: str, *, live: bool, kind: str = "audit") -> str:
    schema = await catalog.new_build(conn, name=name, kind=kind)
    await conn.execute("UPDATE ledger_meta.builds SET status = 'ready', finished_at = now() WHERE name = $1", name)
    if live:
        await catalog.switch_live(conn, schema)
    return schema


def archive_row(seq: int, project_id: str, type_: str, payload: dict[str, Any], at: dt.datetime) -> tuple[Any, ...]:
    return row("archive", seq=seq, idx=0, key=project_id, project_id=project_id, commit_id=f"c{seq}", type=type_,
               occurred_at=at, recorded_at=at, event_id=f"e{seq}", payload=json.dumps(payload, ensure_ascii=False))


__all__ = ["TABLES", "archive_row", "insert", "new_build", "row"]
