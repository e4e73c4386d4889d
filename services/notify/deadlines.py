"""The deadline view's pure fold: which deadlines are open, suspended or closed after each event."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Literal

from contracts import events as ev
from contracts.envelope import Envelope
from ledger.clock import local_date

Status = Literal["open", "suspended", "closed"]


@dataclass(frozen=True)
class Deadline:
    """One open obligation with a due day: a stage, a blocker, or documents to supply (容缺后补)."""

    project_id: str
    kind: Literal["stage", "blocker", "documents"]
    ref: str
    department: str
    opened_on: dt.date
    due_on: dt.date
    limit_days: int | None = None
    status: Status = "open"
    missing: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return f"{self.project_id}:{self.kind}:{self.ref}"


@dataclass(frozen=True)
class ProjectInfo:
    project_id: str
    name: str = ""
    district: str = ""
    leader: str = ""  # the key project's responsible leader (五个一), "" for ordinary projects
    section: str = ""


@dataclass
class ProjectView:
    info: ProjectInfo
    deadlines: dict[str, Deadline] = field(default_factory=dict)


def _set(view: ProjectView, d: Deadline) -> None:
    view.deadlines[d.id] = d


def _find(view: ProjectView, kind: str, ref: str) -> Deadline | None:
    return view.deadlines.get(f"{view.info.project_id}:{kind}:{ref}")


def _close(view: ProjectView, kind: str, ref: str) -> None:
    d = _find(view, kind, ref)
    if d is not None and d.status != "closed":
        _set(view, replace(d, status="closed"))


def evolve(view: ProjectView, envelope: Envelope) -> None:
    """Apply one event to the project's deadlines in place (idempotent for a replayed event)."""
    e, pid = envelope.event, view.info.project_id
    match e:
        case ev.ApplicationReceived():
            leader, section = (e.key_project.leader, e.key_project.section) if e.key_project else ("", "")
            view.info = ProjectInfo(pid, e.name, e.district, leader, section)
        case ev.StageOpened():
            _set(view, Deadline(pid, "stage", e.stage, e.department, e.opened_on, e.due_on, e.limit_days))
            if e.missing_documents and e.documents_due_on is not None:
                _set(view, Deadline(pid, "documents", e.stage, e.department, e.opened_on, e.documents_due_on,
                                    missing=tuple(e.missing_documents)))
        case ev.ClockSuspended():
            d = _find(view, "stage", e.stage)
            if d is not None and d.status == "open":
                _set(view, replace(d, status="suspended"))
        case ev.ClockResumed():
            d = _find(view, "stage", e.stage)
            if d is not None and d.status != "closed":
                _set(view, replace(d, status="open", due_on=e.due_on))
        case ev.DeadlineExtended():
            d = _find(view, "stage", e.stage)
            if d is not None and d.status != "closed":
                _set(view, replace(d, due_on=e.due_on))
        case ev.StagePassed() | ev.StageReturned():
            _close(view, "stage", e.stage)
            _close(view, "documents", e.stage)
        case ev.DocumentsSupplemented():
            for d in list(view.deadlines.values()):
                if d.kind == "documents" and d.status != "closed" and (e.stage is None or d.ref == e.stage):
                    left = tuple(m for m in d.missing if m not in e.documents)
                    _set(view, replace(d, missing=left, status="closed" if not left else d.status))
        case ev.BlockerRaised():
            if e.due_on is not None:
                _set(view, Deadline(pid, "blocker", e.blocker_id, e.department, local_date(envelope.occurred_at),
                                    e.due_on))
        case ev.BlockerUpdated():
            d = _find(view, "blocker", e.blocker_id)
            if d is not None and d.status != "closed":
                _set(view, replace(d, department=e.department or d.department, due_on=e.due_on or d.due_on))
            elif d is None and e.due_on is not None:
                _set(view, Deadline(pid, "blocker", e.blocker_id, e.department or "", local_date(envelope.occurred_at),
                                    e.due_on))
        case ev.BlockerResolved():
            _close(view, "blocker", e.blocker_id)
        case ev.ApplicationWithdrawn():
            for d in list(view.deadlines.values()):
                _close(view, d.kind, d.ref)
        case _:
            pass
