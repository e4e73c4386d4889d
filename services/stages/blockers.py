"""Blocker rules (症结/堵点): who must act on a government cause, by when, and how it closes."""

from __future__ import annotations

import datetime as dt

from contracts import commands as cmd
from contracts import events as ev
from services.stages.policy import Policy
from services.stages.refusal import invalid, rule
from services.stages.state import Blocker, ProjectState

# Seed 001: government causes get a goal, a responsible department and a time limit; enterprise
# causes are met with policy packages. "other" may be either side.
GOVERNMENT_CAUSES = frozenset({"land_reserve_unfinished", "land_not_cleared", "red_line_unstable",
                               "land_approval_slow"})
ENTERPRISE_CAUSES = frozenset({"weak_willingness", "investment_plan_changed", "insufficient_funds"})

BlockerCommand = cmd.RaiseBlocker | cmd.UpdateBlocker | cmd.ResolveBlocker


def blocking(s: ProjectState, stage: str, policy: Policy) -> tuple[Blocker, ...]:
    """The open blockers that keep ``stage`` from passing (the policy's `held_by` causes), in the order
    they were raised; other causes only record who must act and by when."""
    held_by = policy.stages[stage].held_by
    return tuple(b for b in s.open_blockers() if b.cause in held_by)


def decide_blocker(s: ProjectState, c: BlockerCommand, today: dt.date, policy: Policy) -> ev.DomainEvent:
    match c:
        case cmd.RaiseBlocker():
            return _raise(s, c, today, policy)
        case cmd.UpdateBlocker():
            _open_blocker(s, c.blocker_id)
            changes = (c.description, c.goal, c.department, c.responsible_person, c.due_on)
            if all(v is None for v in changes):
                raise invalid("blocker_id", f"the update of blocker {c.blocker_id} changes nothing")
            if c.department is not None and not c.department.strip():
                raise invalid("department", "the responsible department cannot be blank")
            if c.due_on is not None and c.due_on < today:
                raise invalid("due_on", f"the due date {c.due_on} is before today ({today})")
            return ev.BlockerUpdated(blocker_id=c.blocker_id, description=c.description, goal=c.goal,
                                     department=c.department, responsible_person=c.responsible_person,
                                     due_on=c.due_on)
        case cmd.ResolveBlocker():
            _open_blocker(s, c.blocker_id)
            return ev.BlockerResolved(blocker_id=c.blocker_id, resolved_on=today, resolution=c.resolution)


def _raise(s: ProjectState, c: cmd.RaiseBlocker, today: dt.date, policy: Policy) -> ev.BlockerRaised:
    if c.blocker_id in s.blockers:
        raise invalid("blocker_id", f"blocker {c.blocker_id} already exists")
    if c.side == "government" and c.cause in ENTERPRISE_CAUSES:
        raise invalid("cause", f"{c.cause} is an enterprise-side cause, not a government one")
    if c.side == "enterprise" and c.cause in GOVERNMENT_CAUSES:
        raise invalid("cause", f"{c.cause} is a government-side cause, not an enterprise one")
    if c.cause == "other" and not c.cause_text.strip():
        raise invalid("cause_text", "a blocker with cause 'other' needs a cause_text saying what it is")
    if not c.department.strip():
        raise invalid("department", "a blocker needs a responsible department")
    if c.side == "government" and c.due_on is None:
        raise invalid("due_on", "a government-side blocker needs a due date (time limit)")
    if c.due_on is not None and c.due_on < today:
        raise invalid("due_on", f"the due date {c.due_on} is before today ({today})")
    if c.stage is not None and c.stage not in policy.stages:
        raise invalid("stage", f"unknown stage {c.stage!r}")
    return ev.BlockerRaised(
        blocker_id=c.blocker_id, side=c.side, cause=c.cause, cause_text=c.cause_text,
        description=c.description, goal=c.goal, department=c.department,
        responsible_person=c.responsible_person, due_on=c.due_on, stage=c.stage,
    )


def _open_blocker(s: ProjectState, blocker_id: str) -> Blocker:
    b = s.blockers.get(blocker_id)
    if b is None:
        raise invalid("blocker_id", f"the project has no blocker {blocker_id}")
    if not b.open:
        raise rule(f"blocker {blocker_id} was already resolved on {b.resolved_on}", field="blocker_id")
    return b
