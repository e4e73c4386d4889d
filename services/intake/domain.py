"""Intake's pure rules: who may send what, when, and the events of SubmitApplication/WithdrawApplication.

No I/O and no clock of its own: `now` is handed in (from an injected ledger.clock.Clock).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import msgspec

from contracts.commands import INTAKE_COMMANDS, Submission, SubmitApplication, WithdrawApplication
from contracts.envelope import Commit
from contracts.events import ApplicationReceived, ApplicationWithdrawn, DomainEvent
from contracts.receipts import Rejected

FUTURE_TOLERANCE = dt.timedelta(minutes=5)
"""How far occurred_at may lie ahead of our clock (publishers' clocks drift a little)."""


class ProjectState(msgspec.Struct, frozen=True, kw_only=True):
    exists: bool = False
    withdrawn: bool = False


def fold(commits: Iterable[Commit]) -> ProjectState:
    state = ProjectState()
    for commit in commits:
        for envelope in commit.events:
            match envelope.event:
                case ApplicationReceived():
                    state = ProjectState(exists=True)
                case ApplicationWithdrawn():
                    state = ProjectState(exists=True, withdrawn=True)
                case _:
                    pass
    return state


def is_intake_command(submission: Submission) -> bool:
    return isinstance(submission.command, INTAKE_COMMANDS)


def admit(
    submission: Submission,
    *,
    allowed: tuple[str, ...],
    now: dt.datetime,
    tolerance: dt.timedelta = FUTURE_TOLERANCE,
) -> Rejected | None:
    """Checks every submission passes before anything is read: command allowed, time plausible."""
    kind = type(submission.command).__name__
    ids = {"idempotency_key": submission.idempotency_key, "project_id": submission.project_id}
    if allowed and kind not in allowed:
        return Rejected(
            code="forbidden_source",
            message=f"this source may not send {kind}; it may send: {', '.join(allowed)}",
            field="$.command.type",
            **ids,
        )
    if submission.occurred_at > now + tolerance:
        return Rejected(
            code="occurred_in_future",
            message=f"occurred_at {submission.occurred_at.isoformat()} is later than the ledger's clock "
            f"{now.isoformat(timespec='seconds')} plus {int(tolerance.total_seconds())} s",
            field="$.occurred_at",
            **ids,
        )
    return None


def decide(submission: Submission, state: ProjectState) -> list[DomainEvent] | Rejected:
    """The events of an intake command on a project in `state`, or why not."""
    ids = {"idempotency_key": submission.idempotency_key, "project_id": submission.project_id}
    pid = submission.project_id
    match submission.command:
        case SubmitApplication() as cmd:
            if state.exists:
                return Rejected(code="duplicate_project", message=f"project {pid} already exists in the ledger",
                                field="$.project_id", **ids)
            fields = msgspec.structs.asdict(cmd)
            return [ApplicationReceived(**fields)]
        case WithdrawApplication(reason=reason):
            if not state.exists:
                return Rejected(code="unknown_project", message=f"project {pid} is not in the ledger",
                                field="$.project_id", **ids)
            if state.withdrawn:
                return Rejected(code="project_withdrawn", message=f"project {pid} was already withdrawn",
                                field="$.project_id", **ids)
            return [ApplicationWithdrawn(reason=reason)]
        case _:
            raise ValueError(f"{type(submission.command).__name__} is not an intake command")
