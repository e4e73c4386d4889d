"""react(): the events the stages service appends on its own when it sees an ApplicationReceived."""

from __future__ import annotations

from contracts import events as ev
from ledger.clock import Clock, local_date
from ledger.workdays import WorkingCalendar
from services.stages.deadlines import stage_opened
from services.stages.policy import Policy
from services.stages.state import ProjectState


def react(
    state: ProjectState, event: ev.DomainEvent, calendar: WorkingCalendar, policy: Policy, *, clock: Clock
) -> list[ev.DomainEvent]:
    """Open the track's first stage(s) with their due dates; ``clock`` is fixed at the event's occurred_at.

    ``state`` already includes ``event``. Only a stage the project never had is opened: one already
    open, passed or returned (opened by hand before this reaction ran, then sent back) is not opened
    again, so a redelivered ApplicationReceived adds nothing and a return is not undone. Unknown stage
    codes are skipped rather than raised: the event is already in the log and a consumer must not jam on
    it. (A track the policy lacks cannot occur: a Policy has every track.)
    May raise UnknownYear when the acceptance date is in a year without a calendar.
    """
    if not isinstance(event, ev.ApplicationReceived) or not state.exists or state.withdrawn:
        return []
    firsts = first_stages_of(event, policy)
    on = local_date(clock.now())
    returned = {r.stage for r in state.returned}
    out: list[ev.DomainEvent] = []
    for code in dict.fromkeys(firsts):
        d = policy.stages.get(code)
        if d is None or code in state.open_stages or code in state.passed or code in returned:
            continue
        out.append(stage_opened(d, on, calendar, policy, list(event.missing_documents)))
    return out


def first_stages_of(event: ev.ApplicationReceived, policy: Policy) -> tuple[str, ...]:
    """The stages to open for ``event``: those it names, else its track's (every Policy has every track)."""
    if event.first_stages:
        return tuple(event.first_stages)
    return policy.first_stages(event.track, event.project_kind)
