"""Deadline facts: the due date of an opened stage, of a resumed clock, and a stage's outcome."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from contracts.events import ClockResumed, StageOpened
from ledger.workdays import WorkingCalendar
from services.stages.policy import Policy, StageDef
from services.stages.state import RunningStage


def stage_opened(
    stage: StageDef, on: dt.date, calendar: WorkingCalendar, policy: Policy, missing: list[str]
) -> StageOpened:
    """Open ``stage`` on ``on``: the due date is computed here, once, and recorded with its rule."""
    docs_due = calendar.add_working_days(on, policy.documents_due_days) if missing else None
    return StageOpened(
        stage=stage.code, department=stage.department, opened_on=on,
        limit_days=stage.committed_days, statutory_days=stage.statutory_days,
        due_on=calendar.add_working_days(on, stage.committed_days),
        rule=stage.rule, calendar_version=calendar.version, parallel_group=stage.parallel_group,
        missing_documents=missing, documents_due_on=docs_due,
    )


def clock_resumed(run: RunningStage, on: dt.date, calendar: WorkingCalendar) -> ClockResumed:
    """Restart a suspended clock on ``on``: the days (suspended_on, on] do not count.

    The day the clock stops still counts (work was done on it); the resumption day does not, like
    an acceptance day. The new due date is the working days that were left, counted after ``on``.
    """
    assert run.suspended_on is not None
    paused = max(0, calendar.working_days_between(run.suspended_on, on))
    left = calendar.working_days_between(run.suspended_on, run.due_on)
    if left >= 0:
        due = calendar.add_working_days(on, left)
        rule = (f"{left} working days were left when the clock stopped on {run.suspended_on} "
                f"({run.suspend_reason}); counted again after {on}, {paused} suspended working days not counted")
    else:
        # Already overdue when it stopped: shift by the pause only, so the delay is not forgiven.
        due = calendar.add_working_days(run.due_on, paused)
        rule = (f"already {-left} working days overdue when the clock stopped on {run.suspended_on}; "
                f"due date moved by the {paused} suspended working days")
    return ClockResumed(stage=run.stage, resumed_on=on, suspended_working_days=paused,
                        remaining_days=max(0, left), due_on=due, rule=rule)


@dataclass(frozen=True)
class Outcome:
    """How a stage finished, in working days.

    used = working days in (opened_on, finished_on] minus suspended working days; allowed = the
    committed limit plus extensions. on_time: used <= allowed. early: used < allowed, i.e. finished
    before the due date (so a same-day item, allowed 0, is on time at best, never early).
    """

    working_days_used: int
    suspended_days: int
    on_time: bool
    early: bool


def outcome(run: RunningStage, on: dt.date, extra_suspended: int, calendar: WorkingCalendar) -> Outcome:
    suspended = run.suspended_days + extra_suspended
    used = max(0, calendar.working_days_between(run.opened_on, on) - suspended)
    allowed = run.limit_days + run.extended_days
    return Outcome(used, suspended, used <= allowed, used < allowed)
