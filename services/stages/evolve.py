"""The pure fold: a project's state after one more event; recorded dates are copied, never recomputed."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from contracts import events as ev
from services.stages.state import Blocker, PassedStage, ProjectState, ReturnedStage, RunningStage


def evolve(state: ProjectState, event: ev.DomainEvent) -> ProjectState:
    """Apply one event; events this service does not track (alerts, calendars) only count."""
    s = replace(state, event_count=state.event_count + 1)
    match event:
        case ev.ApplicationReceived():
            return replace(
                s, exists=True, name=event.name, enterprise=event.enterprise, district=event.district,
                track=event.track, project_kind=event.project_kind, station=event.station,
                initiated=event.initiated, key_project=event.key_project,
                land_area_m2=event.land_area_m2, floor_area_m2=event.floor_area_m2,
                first_stages=tuple(event.first_stages),
                application_missing_documents=tuple(event.missing_documents),
            )
        case ev.ApplicationWithdrawn():
            return replace(s, withdrawn=True, withdrawal_reason=event.reason)
        case ev.StageOpened():
            run = RunningStage(
                stage=event.stage, department=event.department, opened_on=event.opened_on,
                limit_days=event.limit_days, statutory_days=event.statutory_days, due_on=event.due_on,
                rule=event.rule, calendar_version=event.calendar_version,
                parallel_group=event.parallel_group, missing_documents=tuple(event.missing_documents),
                documents_due_on=event.documents_due_on,
            )
            return replace(s, open_stages={**s.open_stages, event.stage: run})
        case ev.StagePassed():
            opened = s.open_stages.get(event.stage)
            passed = PassedStage(
                stage=event.stage,
                opened_on=opened.opened_on if opened else event.passed_on,
                passed_on=event.passed_on,
                due_on=opened.due_on if opened else event.passed_on,
                working_days_used=event.working_days_used, suspended_days=event.suspended_days,
                on_time=event.on_time, early=event.early, document=event.document,
                report_ref=event.report_ref,
            )
            return replace(s, open_stages=_without(s, event.stage), passed={**s.passed, event.stage: passed})
        case ev.StageReturned():
            opened = s.open_stages.get(event.stage)
            back = ReturnedStage(event.stage, opened.opened_on if opened else event.returned_on,
                                 event.returned_on, event.reason)
            return replace(s, open_stages=_without(s, event.stage), returned=(*s.returned, back))
        case ev.ClockSuspended():
            return _update_stage(s, event.stage, suspended_on=event.suspended_on, suspend_reason=event.reason)
        case ev.ClockResumed():
            paused = s.open_stages.get(event.stage)
            if paused is None:
                return s
            return _update_stage(s, event.stage, suspended_on=None, suspend_reason=None, due_on=event.due_on,
                                 suspended_days=paused.suspended_days + event.suspended_working_days,
                                 resumed_on=event.resumed_on)
        case ev.DeadlineExtended():
            extended = s.open_stages.get(event.stage)
            if extended is None:
                return s
            return _update_stage(s, event.stage, due_on=event.due_on,
                                 extended_days=extended.extended_days + event.extra_days)
        case ev.DocumentsSupplemented():
            return _supplied(s, event)
        case ev.BlockerRaised():
            b = Blocker(
                blocker_id=event.blocker_id, side=event.side, cause=event.cause, department=event.department,
                cause_text=event.cause_text, description=event.description, goal=event.goal,
                responsible_person=event.responsible_person, due_on=event.due_on, stage=event.stage,
            )
            return replace(s, blockers={**s.blockers, event.blocker_id: b})
        case ev.BlockerUpdated():
            old = s.blockers.get(event.blocker_id)
            if old is None:
                return s
            changes = {k: getattr(event, k) for k in ("description", "goal", "department",
                                                      "responsible_person", "due_on")}
            new = replace(old, **{k: v for k, v in changes.items() if v is not None})
            return replace(s, blockers={**s.blockers, event.blocker_id: new})
        case ev.BlockerResolved():
            old = s.blockers.get(event.blocker_id)
            if old is None:
                return s
            new = replace(old, resolved_on=event.resolved_on, resolution=event.resolution)
            return replace(s, blockers={**s.blockers, event.blocker_id: new})
        case _:
            return s


def fold(events: list[ev.DomainEvent], state: ProjectState | None = None) -> ProjectState:
    """The state after a sequence of events (from scratch unless ``state`` is given)."""
    s = state if state is not None else ProjectState()
    for e in events:
        s = evolve(s, e)
    return s


def _without(s: ProjectState, stage: str) -> dict[str, RunningStage]:
    return {k: v for k, v in s.open_stages.items() if k != stage}


def _update_stage(s: ProjectState, stage: str, **changes: Any) -> ProjectState:
    run = s.open_stages.get(stage)
    if run is None:
        # Tolerated: an event about a stage we never saw open must not break a replay.
        return s
    return replace(s, open_stages={**s.open_stages, stage: replace(run, **changes)})


def _supplied(s: ProjectState, event: ev.DocumentsSupplemented) -> ProjectState:
    got = set(event.documents)
    stages = s.open_stages
    if event.stage is not None:
        targets = {event.stage} & set(stages)
    else:
        targets = set(stages)
    new_stages = {
        k: (replace(v, missing_documents=tuple(d for d in v.missing_documents if d not in got))
            if k in targets else v)
        for k, v in stages.items()
    }
    app_missing = s.application_missing_documents
    if event.stage is None:
        app_missing = tuple(d for d in app_missing if d not in got)
    return replace(s, open_stages=new_stages, application_missing_documents=app_missing)
