"""A project's state as folded from its events: stages, clocks, documents and blockers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from contracts.events import Document, KeyProject


@dataclass(frozen=True)
class RunningStage:
    """An open stage with its clock, exactly as recorded in the events (never recomputed)."""

    stage: str
    department: str
    opened_on: dt.date
    limit_days: int
    statutory_days: int
    due_on: dt.date
    rule: str
    calendar_version: str
    parallel_group: str | None = None
    missing_documents: tuple[str, ...] = ()
    documents_due_on: dt.date | None = None
    suspended_on: dt.date | None = None
    suspend_reason: str | None = None
    suspended_days: int = 0
    extended_days: int = 0
    # The day the clock last resumed: a later suspension may not start before it, or the days of the
    # two suspensions would overlap and count twice.
    resumed_on: dt.date | None = None

    @property
    def suspended(self) -> bool:
        return self.suspended_on is not None


@dataclass(frozen=True)
class PassedStage:
    stage: str
    opened_on: dt.date
    passed_on: dt.date
    due_on: dt.date
    working_days_used: int
    suspended_days: int
    on_time: bool
    early: bool
    document: Document | None = None
    report_ref: str = ""


@dataclass(frozen=True)
class ReturnedStage:
    stage: str
    opened_on: dt.date
    returned_on: dt.date
    reason: str


@dataclass(frozen=True)
class Blocker:
    blocker_id: str
    side: str
    cause: str
    department: str
    cause_text: str = ""
    description: str = ""
    goal: str = ""
    responsible_person: str = ""
    due_on: dt.date | None = None
    stage: str | None = None
    resolved_on: dt.date | None = None
    resolution: str = ""

    @property
    def open(self) -> bool:
        return self.resolved_on is None


@dataclass(frozen=True)
class ProjectState:
    """Everything decide() needs about one project; ``ProjectState()`` is a project not yet received."""

    exists: bool = False
    withdrawn: bool = False
    withdrawal_reason: str = ""
    event_count: int = 0
    name: str = ""
    enterprise: str = ""
    district: str = ""
    track: str = ""
    project_kind: str = ""
    station: str = ""
    initiated: bool = False
    key_project: KeyProject | None = None
    land_area_m2: float | None = None
    floor_area_m2: float | None = None
    first_stages: tuple[str, ...] = ()
    application_missing_documents: tuple[str, ...] = ()
    open_stages: Mapping[str, RunningStage] = field(default_factory=dict)
    passed: Mapping[str, PassedStage] = field(default_factory=dict)
    returned: tuple[ReturnedStage, ...] = ()
    blockers: Mapping[str, Blocker] = field(default_factory=dict)

    def open_blockers(self) -> tuple[Blocker, ...]:
        return tuple(b for b in self.blockers.values() if b.open)

    def has_passed(self, stage: str) -> bool:
        return stage in self.passed

    def is_open(self, stage: str) -> bool:
        return stage in self.open_stages
