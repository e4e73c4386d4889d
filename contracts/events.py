"""Domain events of the ledger: immutable facts, past tense, one tagged union."""

from __future__ import annotations

import datetime as dt

import msgspec

from contracts.types import (
    AlertLevel,
    Area,
    BlockerCause,
    Code,
    DeadlineKind,
    Name,
    Side,
    SuspendReason,
    Text,
    Track,
    UtcTime,
    WorkingDays,
)


class Event(msgspec.Struct, frozen=True, kw_only=True, tag_field="type", tag=True):
    """Base of every event; the tag `type` is the class name."""


class KeyProject(msgspec.Struct, frozen=True, kw_only=True):
    """The "five ones" of a key project (seed 004): one leader, one section, one plan, one mechanism."""

    leader: Name
    section: Name
    work_plan: Text = ""
    mechanism: Text = ""


class Document(msgspec.Struct, frozen=True, kw_only=True):
    """A document a stage produces, e.g. a land-use planning permit with its areas."""

    kind: Code
    number: Text = ""
    land_area_m2: Area | None = None
    floor_area_m2: Area | None = None


class ApplicationReceived(Event, frozen=True, kw_only=True):
    """A window accepted an application for a project: the project enters the ledger."""

    name: Name
    enterprise: Name
    district: Name
    track: Track
    project_kind: Code = "building"
    station: Text = ""
    initiated: bool = False
    key_project: KeyProject | None = None
    land_area_m2: Area | None = None
    floor_area_m2: Area | None = None
    first_stages: list[Code] = []
    missing_documents: list[Name] = []


class ApplicationWithdrawn(Event, frozen=True, kw_only=True):
    reason: Text


class StageOpened(Event, frozen=True, kw_only=True):
    """A stage started; its due date is computed once here and never recomputed on replay."""

    stage: Code
    department: Name
    opened_on: dt.date
    limit_days: WorkingDays
    statutory_days: WorkingDays
    due_on: dt.date
    rule: Text
    calendar_version: Text
    parallel_group: Code | None = None
    missing_documents: list[Name] = []
    documents_due_on: dt.date | None = None


class StagePassed(Event, frozen=True, kw_only=True):
    stage: Code
    passed_on: dt.date
    working_days_used: WorkingDays
    suspended_days: WorkingDays = 0
    on_time: bool
    early: bool
    document: Document | None = None
    report_ref: Text = ""


class StageReturned(Event, frozen=True, kw_only=True):
    """The stage was sent back to the applicant; it closes without passing."""

    stage: Code
    returned_on: dt.date
    reason: Text


class ClockSuspended(Event, frozen=True, kw_only=True):
    stage: Code
    reason: SuspendReason
    suspended_on: dt.date
    note: Text = ""


class ClockResumed(Event, frozen=True, kw_only=True):
    stage: Code
    resumed_on: dt.date
    suspended_working_days: WorkingDays
    remaining_days: WorkingDays
    due_on: dt.date
    rule: Text


class DeadlineExtended(Event, frozen=True, kw_only=True):
    stage: Code
    extra_days: WorkingDays
    approved_by: Name
    reason: Text
    due_on: dt.date


class DocumentsSupplemented(Event, frozen=True, kw_only=True):
    stage: Code | None = None
    documents: list[Name]
    supplied_on: dt.date


class BlockerRaised(Event, frozen=True, kw_only=True):
    blocker_id: Code
    side: Side
    cause: BlockerCause
    cause_text: Text = ""
    description: Text = ""
    goal: Text = ""
    department: Name
    responsible_person: Text = ""
    due_on: dt.date | None = None
    stage: Code | None = None


class BlockerUpdated(Event, frozen=True, kw_only=True):
    blocker_id: Code
    description: Text | None = None
    goal: Text | None = None
    department: Name | None = None
    responsible_person: Text | None = None
    due_on: dt.date | None = None


class BlockerResolved(Event, frozen=True, kw_only=True):
    blocker_id: Code
    resolved_on: dt.date
    resolution: Text = ""


class AlertSent(Event, frozen=True, kw_only=True):
    """A deadline alert was delivered; `alert_key` is unique per (deadline, level)."""

    alert_key: Text
    deadline_kind: DeadlineKind
    deadline_ref: Code
    level: AlertLevel
    due_on: dt.date
    channel: Code
    recipient: Text
    sent_at: UtcTime


class AlertFailed(Event, frozen=True, kw_only=True):
    alert_key: Text
    deadline_kind: DeadlineKind
    deadline_ref: Code
    level: AlertLevel
    due_on: dt.date
    channel: Code
    recipient: Text
    attempts: int
    error: Text


class CalendarPublished(Event, frozen=True, kw_only=True):
    """The official working-day schedule of one year (holidays and make-up working days)."""

    year: int
    holidays: list[dt.date]
    workdays: list[dt.date]
    source_document: Text = ""


DomainEvent = (
    ApplicationReceived
    | ApplicationWithdrawn
    | StageOpened
    | StagePassed
    | StageReturned
    | ClockSuspended
    | ClockResumed
    | DeadlineExtended
    | DocumentsSupplemented
    | BlockerRaised
    | BlockerUpdated
    | BlockerResolved
    | AlertSent
    | AlertFailed
    | CalendarPublished
)

EVENT_TYPES: tuple[type[Event], ...] = (
    ApplicationReceived,
    ApplicationWithdrawn,
    StageOpened,
    StagePassed,
    StageReturned,
    ClockSuspended,
    ClockResumed,
    DeadlineExtended,
    DocumentsSupplemented,
    BlockerRaised,
    BlockerUpdated,
    BlockerResolved,
    AlertSent,
    AlertFailed,
    CalendarPublished,
)
