"""decide(): the bureau's workflow rules turn a command into events, or refuse it."""

from __future__ import annotations

import datetime as dt

from contracts import commands as cmd
from contracts import events as ev
from ledger.clock import Clock, local_date
from ledger.workdays import UnknownYear, WorkingCalendar
from services.stages import blockers
from services.stages.deadlines import clock_resumed, outcome, stage_opened
from services.stages.policy import Policy, StageDef
from services.stages.refusal import CalendarGap, Refused, invalid, rule
from services.stages.state import ProjectState, RunningStage


def decide(
    state: ProjectState, command: cmd.AnyCommand, clock: Clock, calendar: WorkingCalendar, policy: Policy
) -> list[ev.DomainEvent]:
    """The events ``command`` produces on ``state``; raises Refused. ``clock`` is fixed at occurred_at."""
    today = local_date(clock.now())
    if isinstance(command, cmd.SubmitApplication):
        return _submit(state, command, policy)
    if not state.exists:
        raise Refused("unknown_project", "the ledger holds no such project: submit its application first",
                      field="project_id")
    if state.withdrawn:
        raise Refused("project_withdrawn", f"the project was withdrawn ({state.withdrawal_reason}); "
                                           "it accepts no more commands", field="project_id")
    try:
        return _decide(state, command, today, calendar, policy)
    except UnknownYear as e:
        # The due date counted from the command's day falls in a year the calendar does not know yet.
        raise CalendarGap(str(e), field="occurred_at") from e


def _decide(
    s: ProjectState, c: cmd.AnyCommand, today: dt.date, cal: WorkingCalendar, policy: Policy
) -> list[ev.DomainEvent]:
    match c:
        case cmd.OpenStage():
            return [_open(s, c, today, cal, policy)]
        case cmd.PassStage():
            return _pass(s, c, today, cal, policy)
        case cmd.ReturnStage():
            run = _running(s, c.stage, today, "be returned")
            _after_resumption(run, today, "be returned")
            if not c.reason.strip():
                raise invalid("reason", f"stage {c.stage} cannot be returned without a reason")
            resumed = [clock_resumed(run, today, cal)] if run.suspended else []
            return [*resumed, ev.StageReturned(stage=c.stage, returned_on=today, reason=c.reason)]
        case cmd.SuspendClock():
            run = _running(s, c.stage, today, "be suspended")
            if run.suspended:
                raise rule(f"the clock of stage {c.stage} is already suspended "
                           f"({run.suspend_reason} since {run.suspended_on})", field="stage")
            _after_resumption(run, today, "be suspended")
            return [ev.ClockSuspended(stage=c.stage, reason=c.reason, suspended_on=today, note=c.note)]
        case cmd.ResumeClock():
            run = _running(s, c.stage, today, "resume")
            if run.suspended_on is None:
                raise rule(f"the clock of stage {c.stage} is not suspended", field="stage")
            if today < run.suspended_on:
                raise rule(f"stage {c.stage} cannot resume on {today}: its clock stopped on {run.suspended_on}",
                           field="occurred_at")
            return [clock_resumed(run, today, cal)]
        case cmd.ExtendDeadline():
            return [_extend(s, c, today, cal, policy)]
        case cmd.SupplyDocuments():
            return [_supply(s, c, today)]
        case cmd.WithdrawApplication():
            if not c.reason.strip():
                raise invalid("reason", "a withdrawal needs a reason")
            return [ev.ApplicationWithdrawn(reason=c.reason)]
        case cmd.RaiseBlocker() | cmd.UpdateBlocker() | cmd.ResolveBlocker():
            return [blockers.decide_blocker(s, c, today, policy)]
        case _:
            raise invalid("command", f"the stages service does not handle {type(c).__name__}")


def _submit(s: ProjectState, c: cmd.SubmitApplication, policy: Policy) -> list[ev.DomainEvent]:
    if s.exists:
        raise Refused("duplicate_project", f"the project already exists (received as {s.name!r})",
                      field="project_id")
    return [ev.ApplicationReceived(
        name=c.name, enterprise=c.enterprise, district=c.district, track=c.track,
        project_kind=c.project_kind, station=c.station, initiated=c.initiated, key_project=c.key_project,
        land_area_m2=c.land_area_m2, floor_area_m2=c.floor_area_m2,
        first_stages=list(policy.first_stages(c.track, c.project_kind)),
        missing_documents=list(c.missing_documents),
    )]


def stage_def(s: ProjectState, code: str, policy: Policy) -> StageDef:
    d = policy.stages.get(code)
    if d is None:
        raise invalid("stage", f"unknown stage {code!r}; the policy's stages are {', '.join(policy.stages)}")
    if s.track not in d.tracks:
        raise rule(f"stage {code} is not on the {s.track} track", field="stage")
    return d


def _running(s: ProjectState, code: str, today: dt.date, verb: str) -> RunningStage:
    run = s.open_stages.get(code)
    if run is None:
        passed = s.passed.get(code)
        why = f" (it passed on {passed.passed_on})" if passed else ""
        raise rule(f"stage {code} is not open{why}", field="stage")
    if today < run.opened_on:
        raise rule(f"stage {code} cannot {verb} on {today}: it opened on {run.opened_on}", field="occurred_at")
    return run


def _after_resumption(run: RunningStage, today: dt.date, verb: str) -> None:
    """Refuse a command dated before the day the stage's clock last resumed.

    Only the total of a stage's earlier suspensions is kept, counted up to that day: a suspension
    dated before it would count some of those days again, and a pass or return dated before it would
    subtract suspended days that came after the stage ended. (A pass or return dated before the day
    a still-running suspension began is a late report, and fine: the suspension counts 0 days.)
    """
    if run.resumed_on is not None and today < run.resumed_on:
        raise rule(f"stage {run.stage} cannot {verb} on {today}: its clock resumed on {run.resumed_on}",
                   field="occurred_at")


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _open(s: ProjectState, c: cmd.OpenStage, today: dt.date, cal: WorkingCalendar, policy: Policy) -> ev.StageOpened:
    d = stage_def(s, c.stage, policy)
    if c.stage in s.open_stages:
        raise rule(f"stage {c.stage} is already open (since {s.open_stages[c.stage].opened_on})", field="stage")
    if c.stage in s.passed:
        raise rule(f"stage {c.stage} already passed on {s.passed[c.stage].passed_on}", field="stage")
    waiting = [p for p in d.opens_after if p not in s.passed]
    if waiting:
        verb = "has" if len(waiting) == 1 else "have"
        raise rule(f"stage {c.stage} cannot open: {_and(waiting)} {verb} not passed", field="stage")
    if any(not m.strip() for m in c.missing_documents):
        raise invalid("missing_documents", "a missing document needs a name")
    missing = list(dict.fromkeys(c.missing_documents))
    return stage_opened(d, today, cal, policy, missing)


def _pass(s: ProjectState, c: cmd.PassStage, today: dt.date, cal: WorkingCalendar,
          policy: Policy) -> list[ev.DomainEvent]:
    d = stage_def(s, c.stage, policy)
    _running(s, c.stage, today, "pass")
    group = policy.issued_with(c.stage)
    for other in group:
        if other != c.stage and other not in s.open_stages:
            raise rule(f"stage {c.stage} cannot pass: it is issued together with {other}, which is not open",
                       field="stage")
    if c.document is not None and d.produces is not None and c.document.kind != d.produces:
        raise invalid("document.kind", f"stage {c.stage} produces {d.produces}, not {c.document.kind}")
    out: list[ev.DomainEvent] = []
    for code in group:
        run = _running(s, code, today, "pass")
        _after_resumption(run, today, "pass")
        for req in policy.stages[code].requires:
            if req in s.passed or req in group:
                continue
            state = "is still open" if req in s.open_stages else "has not passed"
            raise rule(f"stage {code} cannot pass: {req} {state}", field="stage")
        if policy.pass_requires_documents and run.missing_documents:
            raise rule(f"stage {code} cannot pass: documents still missing: "
                       f"{', '.join(run.missing_documents)} (due {run.documents_due_on})", field="stage")
        held = [f"{b.blocker_id} ({b.cause})" for b in blockers.blocking(s, code, policy)]
        if held:
            which = f"blocker {held[0]} is" if len(held) == 1 else f"blockers {_and(held)} are"
            raise rule(f"stage {code} cannot pass: {which} still open", field="stage")
        extra = 0
        if run.suspended:
            resumed = clock_resumed(run, today, cal)
            extra = resumed.suspended_working_days
            out.append(resumed)
        o = outcome(run, today, extra, cal)
        out.append(ev.StagePassed(
            stage=code, passed_on=today, working_days_used=o.working_days_used,
            suspended_days=o.suspended_days, on_time=o.on_time, early=o.early,
            document=c.document if code == c.stage else None, report_ref=c.report_ref,
        ))
    return out


def _extend(s: ProjectState, c: cmd.ExtendDeadline, today: dt.date, cal: WorkingCalendar,
            policy: Policy) -> ev.DeadlineExtended:
    d = stage_def(s, c.stage, policy)
    run = _running(s, c.stage, today, "be extended")
    if c.extra_days < 1:
        raise invalid("extra_days", f"an extension needs at least 1 working day, got {c.extra_days}")
    if not c.approved_by.strip():
        raise invalid("approved_by", "an extension needs the name of who approved it")
    cap = d.max_extension_days
    if run.extended_days + c.extra_days > cap:
        raise rule(f"the deadline of stage {c.stage} can be extended by at most {cap} working days in total "
                   f"({run.extended_days} already granted, {c.extra_days} requested)", field="extra_days")
    return ev.DeadlineExtended(stage=c.stage, extra_days=c.extra_days, approved_by=c.approved_by,
                               reason=c.reason, due_on=cal.add_working_days(run.due_on, c.extra_days))


def _supply(s: ProjectState, c: cmd.SupplyDocuments, today: dt.date) -> ev.DocumentsSupplemented:
    if not c.documents:
        raise invalid("documents", "name at least one supplied document")
    if c.stage is not None:
        run = _running(s, c.stage, today, "receive documents")
        missing = set(run.missing_documents)
        where = f"stage {c.stage}"
    else:
        missing = set(s.application_missing_documents)
        for r in s.open_stages.values():
            missing.update(r.missing_documents)
        where = "the project"
    for doc in c.documents:
        if doc not in missing:
            listed = ", ".join(sorted(missing)) or "none"
            raise rule(f"document {doc!r} is not missing for {where} (missing: {listed})", field="documents")
    return ev.DocumentsSupplemented(stage=c.stage, documents=list(c.documents), supplied_on=today)
