"""Response shapes (msgspec Structs: Litestar serialises them and describes them in OpenAPI)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec


class Project(msgspec.Struct, kw_only=True):
    id: str
    name: str
    enterprise: str
    district: str
    station: str
    track: str
    project_kind: str
    initiated: bool
    category: str
    key_project: bool
    key_leader: str | None
    key_section: str | None
    key_work_plan: str | None
    key_mechanism: str | None
    land_area_m2: float | None
    floor_area_m2: float | None
    received_on: dt.date | None
    withdrawn: bool
    withdrawn_on: dt.date | None
    withdrawn_reason: str | None
    passed_stages: list[str]
    open_stages: list[str]
    missing_documents: list[str]
    open_gov_blockers: int
    open_ent_blockers: int
    next_due_on: dt.date | None
    next_due_ref: str | None
    commits: int
    version: int
    last_hash: str
    overdue: bool


class ProjectPage(msgspec.Struct, kw_only=True):
    items: list[Project]
    next_cursor: str | None
    total: int | None = None


class Stage(msgspec.Struct, kw_only=True):
    stage: str
    status: str
    department: str
    opened_on: dt.date | None
    due_on: dt.date | None
    limit_days: int | None
    statutory_days: int | None
    rule: str | None
    parallel_group: str | None
    suspended: bool
    suspended_on: dt.date | None
    suspend_reason: str | None
    suspended_days: int
    extended_days: int
    passed_on: dt.date | None
    returned_on: dt.date | None
    return_reason: str | None
    working_days_used: int | None
    on_time: bool | None
    early: bool | None
    document_kind: str | None
    document_number: str | None
    land_area_m2: float | None
    floor_area_m2: float | None
    missing_documents: list[str]
    documents_due_on: dt.date | None
    overdue: bool


class Blocker(msgspec.Struct, kw_only=True):
    blocker_id: str
    status: str
    side: str
    cause: str
    cause_text: str
    description: str
    goal: str
    department: str
    responsible_person: str
    due_on: dt.date | None
    stage: str | None
    raised_on: dt.date | None
    resolved_on: dt.date | None
    resolution: str | None
    overdue: bool


class Deadline(msgspec.Struct, kw_only=True):
    """An open time limit: a stage's due date, documents to supply, or a government blocker's goal date."""

    project_id: str
    project_name: str
    kind: str  # stage / documents / blocker
    ref: str
    department: str
    due_on: dt.date
    overdue: bool
    days_overdue: int


class DeadlinePage(msgspec.Struct, kw_only=True):
    items: list[Deadline]
    next_cursor: str | None


class HistoryEntry(msgspec.Struct, kw_only=True):
    seq: int
    idx: int
    type: str
    source: str
    actor: str
    occurred_at: dt.datetime
    recorded_at: dt.datetime
    event_id: str
    commit_hash: str
    payload: dict[str, Any]


class ProjectDetail(msgspec.Struct, kw_only=True):
    project: Project
    stages: list[Stage]
    blockers: list[Blocker]
    deadlines: list[Deadline]
    history: list[HistoryEntry]


class Alert(msgspec.Struct, kw_only=True):
    seq: int
    idx: int
    project_id: str | None
    alert_key: str
    status: str
    deadline_kind: str
    deadline_ref: str
    level: str
    due_on: dt.date
    channel: str
    recipient: str
    sent_at: dt.datetime | None
    attempts: int | None
    error: str | None


class AlertPage(msgspec.Struct, kw_only=True):
    items: list[Alert]
    next_cursor: str | None
