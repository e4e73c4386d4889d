"""In-memory rows of one project (and its stages and blockers) while a batch is folded.

Field order equals the column order in schema.py, so a row tuple is one attrgetter call.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

from ledger.classify import classify
from ledger.projection.schema import names


@dataclass(slots=True)
class Stage:
    project_id: str
    stage: str
    status: str = "open"
    department: str = ""
    opened_on: dt.date | None = None
    due_on: dt.date | None = None
    limit_days: int | None = None
    statutory_days: int | None = None
    rule: str | None = None
    parallel_group: str | None = None
    suspended: bool = False
    suspended_on: dt.date | None = None
    suspend_reason: str | None = None
    suspended_days: int = 0
    extended_days: int = 0
    passed_on: dt.date | None = None
    returned_on: dt.date | None = None
    return_reason: str | None = None
    working_days_used: int | None = None
    on_time: bool | None = None
    early: bool | None = None
    document_kind: str | None = None
    document_number: str | None = None
    land_area_m2: float | None = None
    floor_area_m2: float | None = None
    missing_documents: list[str] = field(default_factory=list)
    documents_due_on: dt.date | None = None
    version: int = 0


@dataclass(slots=True)
class Blocker:
    project_id: str
    blocker_id: str
    status: str = "open"
    side: str = "government"
    cause: str = "other"
    cause_text: str = ""
    description: str = ""
    goal: str = ""
    department: str = ""
    responsible_person: str = ""
    due_on: dt.date | None = None
    stage: str | None = None
    raised_on: dt.date | None = None
    resolved_on: dt.date | None = None
    resolution: str | None = None
    version: int = 0


@dataclass(slots=True)
class Project:
    id: str
    name: str = ""
    enterprise: str = ""
    district: str = ""
    station: str = ""
    track: str = "new"
    project_kind: str = "building"
    initiated: bool = False
    category: str = "early_study"
    key_project: bool = False
    key_leader: str | None = None
    key_section: str | None = None
    key_work_plan: str | None = None
    key_mechanism: str | None = None
    land_area_m2: float | None = None
    floor_area_m2: float | None = None
    received_on: dt.date | None = None
    withdrawn: bool = False
    withdrawn_on: dt.date | None = None
    withdrawn_reason: str | None = None
    passed_stages: list[str] = field(default_factory=list)
    open_stages: list[str] = field(default_factory=list)
    missing_documents: list[str] = field(default_factory=list)
    open_gov_blockers: int = 0
    open_ent_blockers: int = 0
    next_due_on: dt.date | None = None
    next_due_ref: str | None = None
    commits: int = 0
    version: int = 0
    last_hash: str = ""
    stages: dict[str, Stage] = field(default_factory=dict)
    blockers: dict[str, Blocker] = field(default_factory=dict)

    def refresh(self) -> None:
        """Recompute the derived columns (category, open/passed lists, counts, next deadline)."""
        stages = self.stages.values()
        self.passed_stages = sorted(s.stage for s in stages if s.status == "passed")
        self.open_stages = sorted(s.stage for s in stages if s.status == "open")
        open_blockers = [b for b in self.blockers.values() if b.status == "open"]
        self.open_gov_blockers = sum(1 for b in open_blockers if b.side == "government")
        self.open_ent_blockers = len(open_blockers) - self.open_gov_blockers
        self.category = classify(
            self.track, self.initiated, set(self.passed_stages), open_stages=set(self.open_stages),
            red_line_disputed=any(b.cause == "red_line_unstable" for b in open_blockers),
        )
        due: list[tuple[dt.date, str]] = []
        if not self.withdrawn:
            due += [(s.due_on, f"stage:{s.stage}") for s in stages
                    if s.status == "open" and not s.suspended and s.due_on is not None]
            due += [(b.due_on, f"blocker:{b.blocker_id}") for b in open_blockers if b.due_on is not None]
        first = min(due) if due else None
        self.next_due_on, self.next_due_ref = (first[0], first[1]) if first else (None, None)


project_row = attrgetter(*names("projects"))
stage_row = attrgetter(*names("project_stages"))
blocker_row = attrgetter(*names("project_blockers"))


def project_from_rows(row: Any, stages: list[Any], blockers: list[Any]) -> Project:
    """Rebuild the in-memory state from the ledger's own rows (a cache miss after a restart)."""
    p = Project(**{c: row[c] for c in names("projects")})
    p.passed_stages, p.open_stages, p.missing_documents = (
        list(p.passed_stages), list(p.open_stages), list(p.missing_documents))
    for r in stages:
        s = Stage(**{c: r[c] for c in names("project_stages")})
        s.missing_documents = list(s.missing_documents)
        p.stages[s.stage] = s
    for r in blockers:
        b = Blocker(**{c: r[c] for c in names("project_blockers")})
        p.blockers[b.blocker_id] = b
    return p
