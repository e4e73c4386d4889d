"""Folding commits into a batch: pure, no I/O, no clock — the same code serves live, rebuild and as-of."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from contracts.codec import encode
from contracts.envelope import Envelope, Recorded
from contracts.events import (
    AlertFailed,
    AlertSent,
    ApplicationReceived,
    ApplicationWithdrawn,
    BlockerRaised,
    BlockerResolved,
    BlockerUpdated,
    ClockResumed,
    ClockSuspended,
    DeadlineExtended,
    DocumentsSupplemented,
    StageOpened,
    StagePassed,
    StageReturned,
)
from ledger.clock import local_date
from ledger.projection.state import Blocker, Project, Stage

EventFilter = Callable[[Recorded, Envelope], bool]
"""as-of builds: which events of a commit count (by recorded or occurred time)."""


@dataclass(slots=True)
class Batch:
    """What one transaction writes: touched projects (final state), deltas, and append-only rows."""

    prev_seq: int
    last_seq: int = 0
    commits: int = 0
    events: int = 0
    projects: dict[str, Project] = field(default_factory=dict)
    stages: set[tuple[str, str]] = field(default_factory=set)
    blockers: set[tuple[str, str]] = field(default_factory=set)
    department_month: dict[tuple[str, dt.date], list[int]] = field(default_factory=dict)
    permits: dict[tuple[str, dt.date, str], list[Decimal]] = field(default_factory=dict)
    alerts: list[tuple[object, ...]] = field(default_factory=list)
    archive: list[tuple[object, ...]] = field(default_factory=list)
    leaves: list[str] = field(default_factory=list)


def _area(value: float | None) -> Decimal:
    return Decimal(0) if value is None else Decimal(repr(value))


def fold_commit(rec: Recorded, batch: Batch, project: Project | None, keep: EventFilter | None = None) -> None:
    """Add one commit to the batch; `project` is the project's current state (None for calendars)."""
    commit = rec.commit
    batch.last_seq = rec.seq
    batch.commits += 1
    batch.leaves.append(rec.hash)
    for idx, env in enumerate(commit.events):
        if keep is not None and not keep(rec, env):
            continue
        batch.events += 1
        event = env.event
        batch.archive.append((
            rec.seq, idx, commit.kind, commit.key, env.project_id, commit.commit_id, commit.number,
            type(event).__name__, env.source, env.actor, env.occurred_at, rec.recorded_at, env.event_id,
            env.correlation_id, env.causation_id, env.schema_version, encode(event).decode(),
            commit.prev_hash, rec.hash,
        ))
        if project is None:
            continue
        project.version = rec.seq
        project.commits = commit.number
        project.last_hash = rec.hash
        batch.projects[project.id] = project
        _apply(project, env, rec.seq, idx, batch)


def _apply(p: Project, env: Envelope, seq: int, idx: int, batch: Batch) -> None:
    e = env.event
    if isinstance(e, ApplicationReceived):
        p.name, p.enterprise, p.district, p.station = e.name, e.enterprise, e.district, e.station
        p.track, p.project_kind, p.initiated = e.track, e.project_kind, e.initiated
        p.land_area_m2, p.floor_area_m2 = e.land_area_m2, e.floor_area_m2
        p.received_on = local_date(env.occurred_at)
        p.missing_documents = list(e.missing_documents)
        if e.key_project is not None:
            k = e.key_project
            p.key_project, p.key_leader, p.key_section = True, k.leader, k.section
            p.key_work_plan, p.key_mechanism = k.work_plan, k.mechanism
    elif isinstance(e, ApplicationWithdrawn):
        p.withdrawn, p.withdrawn_on, p.withdrawn_reason = True, local_date(env.occurred_at), e.reason
    elif isinstance(e, StageOpened):
        p.stages[e.stage] = Stage(
            project_id=p.id, stage=e.stage, department=e.department, opened_on=e.opened_on, due_on=e.due_on,
            limit_days=e.limit_days, statutory_days=e.statutory_days, rule=e.rule, parallel_group=e.parallel_group,
            missing_documents=list(e.missing_documents), documents_due_on=e.documents_due_on)
        _stage(p, e.stage, seq, batch)
    elif isinstance(e, StagePassed):
        s = _stage(p, e.stage, seq, batch)
        s.status, s.passed_on, s.suspended = "passed", e.passed_on, False
        s.working_days_used, s.suspended_days, s.on_time, s.early = (
            e.working_days_used, e.suspended_days, e.on_time, e.early)
        month = e.passed_on.replace(day=1)
        figures = batch.department_month.setdefault((s.department, month), [0, 0, 0, 0, 0])
        figures[0] += 1
        figures[1] += e.on_time
        figures[2] += e.early
        figures[3] += not e.on_time
        figures[4] += e.working_days_used
        if e.document is not None:
            d = e.document
            s.document_kind, s.document_number = d.kind, d.number
            s.land_area_m2, s.floor_area_m2 = d.land_area_m2, d.floor_area_m2
            permit = batch.permits.setdefault((d.kind, month, p.district), [Decimal(0)] * 3)
            permit[0] += 1
            permit[1] += _area(d.land_area_m2)
            permit[2] += _area(d.floor_area_m2)
    elif isinstance(e, StageReturned):
        s = _stage(p, e.stage, seq, batch)
        s.status, s.returned_on, s.return_reason, s.suspended = "returned", e.returned_on, e.reason, False
    elif isinstance(e, ClockSuspended):
        s = _stage(p, e.stage, seq, batch)
        s.suspended, s.suspended_on, s.suspend_reason = True, e.suspended_on, e.reason
    elif isinstance(e, ClockResumed):
        s = _stage(p, e.stage, seq, batch)
        s.suspended, s.due_on = False, e.due_on
        s.suspended_days += e.suspended_working_days
    elif isinstance(e, DeadlineExtended):
        s = _stage(p, e.stage, seq, batch)
        s.extended_days += e.extra_days
        s.due_on = e.due_on
    elif isinstance(e, DocumentsSupplemented):
        supplied = set(e.documents)
        p.missing_documents = [d for d in p.missing_documents if d not in supplied]
        if e.stage is not None:
            s = _stage(p, e.stage, seq, batch)
            s.missing_documents = [d for d in s.missing_documents if d not in supplied]
    elif isinstance(e, BlockerRaised):
        p.blockers[e.blocker_id] = Blocker(
            project_id=p.id, blocker_id=e.blocker_id, side=e.side, cause=e.cause, cause_text=e.cause_text,
            description=e.description, goal=e.goal, department=e.department,
            responsible_person=e.responsible_person, due_on=e.due_on, stage=e.stage,
            raised_on=local_date(env.occurred_at))
        _blocker(p, e.blocker_id, seq, batch)
    elif isinstance(e, BlockerUpdated):
        b = _blocker(p, e.blocker_id, seq, batch)
        b.description = b.description if e.description is None else e.description
        b.goal = b.goal if e.goal is None else e.goal
        b.department = b.department if e.department is None else e.department
        b.responsible_person = b.responsible_person if e.responsible_person is None else e.responsible_person
        b.due_on = b.due_on if e.due_on is None else e.due_on
    elif isinstance(e, BlockerResolved):
        b = _blocker(p, e.blocker_id, seq, batch)
        b.status, b.resolved_on, b.resolution = "resolved", e.resolved_on, e.resolution
    elif isinstance(e, AlertSent | AlertFailed):
        sent = isinstance(e, AlertSent)
        batch.alerts.append((
            seq, idx, p.id, e.alert_key, "sent" if sent else "failed", e.deadline_kind, e.deadline_ref,
            e.level, e.due_on, e.channel, e.recipient, e.sent_at if isinstance(e, AlertSent) else None,
            e.attempts if isinstance(e, AlertFailed) else None, e.error if isinstance(e, AlertFailed) else None))


def _stage(p: Project, code: str, seq: int, batch: Batch) -> Stage:
    # An event about a stage the ledger never saw open (e.g. opened before the log existed) still counts.
    s = p.stages.get(code)
    if s is None:
        s = p.stages[code] = Stage(project_id=p.id, stage=code)
    s.version = seq
    batch.stages.add((p.id, code))
    return s


def _blocker(p: Project, blocker_id: str, seq: int, batch: Batch) -> Blocker:
    b = p.blockers.get(blocker_id)
    if b is None:
        b = p.blockers[blocker_id] = Blocker(project_id=p.id, blocker_id=blocker_id)
    b.version = seq
    batch.blockers.add((p.id, blocker_id))
    return b
