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

    ``state`` already includes ``event``. Idempotent: a stage already open or passed is not opened
    again, so a redelivered ApplicationReceived adds nothing. Unknown stage codes are skipped rather
    than raised: the event is already in the log and a consumer must not jam on it.
    May raise UnknownYear when the acceptance date is in a year without a calendar.
    """
    if not isinstance(event, ev.ApplicationReceived) or not state.exists or state.withdrawn:
        return []
    firsts = event.first_stages or list(policy.first_stages(event.track, event.project_kind))
    on = local_date(clock.now())
    out: list[ev.DomainEvent] = []
    for code in dict.fromkeys(firsts):
        d = policy.stages.get(code)
        if d is None or code in state.open_stages or code in state.passed:
            continue
        out.append(stage_opened(d, on, calendar, policy, list(event.missing_documents)))
    return out
