"""Commands other systems may submit, and the submission that carries one."""

from __future__ import annotations

import datetime as dt

import msgspec

from contracts.events import Document, KeyProject
from contracts.types import (
    Area,
    BlockerCause,
    Code,
    IdempotencyKey,
    Name,
    ProjectId,
    Side,
    SourceId,
    SuspendReason,
    Text,
    Track,
    UtcTime,
    WorkingDays,
)


class Command(msgspec.Struct, frozen=True, kw_only=True, tag_field="type", tag=True):
    """Base of every command; the tag `type` is the class name (imperative)."""


class SubmitApplication(Command, frozen=True, kw_only=True):
    """A window accepted an application: create the project (appended by intake)."""

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
    missing_documents: list[Name] = []


class WithdrawApplication(Command, frozen=True, kw_only=True):
    reason: Text


class OpenStage(Command, frozen=True, kw_only=True):
    """Start a stage; with `missing_documents` the application is accepted incomplete (容缺后补)."""

    stage: Code
    missing_documents: list[Name] = []


class PassStage(Command, frozen=True, kw_only=True):
    stage: Code
    document: Document | None = None
    report_ref: Text = ""


class ReturnStage(Command, frozen=True, kw_only=True):
    stage: Code
    reason: Text


class SuspendClock(Command, frozen=True, kw_only=True):
    stage: Code
    reason: SuspendReason
    note: Text = ""


class ResumeClock(Command, frozen=True, kw_only=True):
    stage: Code


class ExtendDeadline(Command, frozen=True, kw_only=True):
    stage: Code
    extra_days: WorkingDays
    approved_by: Name
    reason: Text


class SupplyDocuments(Command, frozen=True, kw_only=True):
    documents: list[Name]
    stage: Code | None = None


class RaiseBlocker(Command, frozen=True, kw_only=True):
    """Record a blocker; a government-side blocker needs a department and a due date."""

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


class UpdateBlocker(Command, frozen=True, kw_only=True):
    blocker_id: Code
    description: Text | None = None
    goal: Text | None = None
    department: Name | None = None
    responsible_person: Text | None = None
    due_on: dt.date | None = None


class ResolveBlocker(Command, frozen=True, kw_only=True):
    blocker_id: Code
    resolution: Text = ""


AnyCommand = (
    SubmitApplication
    | WithdrawApplication
    | OpenStage
    | PassStage
    | ReturnStage
    | SuspendClock
    | ResumeClock
    | ExtendDeadline
    | SupplyDocuments
    | RaiseBlocker
    | UpdateBlocker
    | ResolveBlocker
)

COMMAND_TYPES: tuple[type[Command], ...] = (
    SubmitApplication,
    WithdrawApplication,
    OpenStage,
    PassStage,
    ReturnStage,
    SuspendClock,
    ResumeClock,
    ExtendDeadline,
    SupplyDocuments,
    RaiseBlocker,
    UpdateBlocker,
    ResolveBlocker,
)

INTAKE_COMMANDS: tuple[type[Command], ...] = (SubmitApplication, WithdrawApplication)
"""Commands intake appends itself; every other command is forwarded to the stages service."""


class Submission(msgspec.Struct, frozen=True, kw_only=True):
    """What a publishing system sends: one command about one project, with its idempotency key."""

    idempotency_key: IdempotencyKey
    project_id: ProjectId
    occurred_at: UtcTime
    actor: Name
    command: AnyCommand
    correlation_id: Text = ""


class WorkflowRequest(msgspec.Struct, frozen=True, kw_only=True):
    """Internal: intake forwards a validated workflow submission to the stages service."""

    source: SourceId
    submission: Submission
    received_at: UtcTime
    submission_hash: str = ""
