"""Async handlers of the stages service: load, decide, append with the expected version, answer."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import partial

from contracts import events as ev
from contracts.commands import WorkflowRequest
from contracts.envelope import Commit, Envelope, Recorded
from contracts.receipts import Accepted, Rejected
from ledger.calendar_log import CalendarSource
from ledger.clock import FixedClock
from ledger.eventlog import ChainMismatch, ConcurrencyConflict, EventLog, Loaded, next_commit
from ledger.ids import commit_id_for, event_id_for, submission_hash
from ledger.keyed_lock import KeyedLock
from ledger.receipts import judge_duplicate, judge_record
from services.stages.decide import decide
from services.stages.evolve import fold
from services.stages.policy import Policy
from services.stages.react import react
from services.stages.refusal import CalendarGap, Refused, json_path

log = logging.getLogger("stages")
SERVICE_SOURCE = "stages"


@dataclass(frozen=True)
class Ports:
    log: EventLog
    calendar: CalendarSource
    policy: Policy
    max_attempts: int = 8
    # Commands on one project wait for each other inside this replica (no wasted retries);
    # optimistic concurrency still settles races between replicas.
    locks: KeyedLock = field(default_factory=KeyedLock)


def _events(loaded: Loaded) -> list[ev.DomainEvent]:
    return [e.event for r in loaded.records for e in r.commit.events]


def _prior(loaded: Loaded, commit_id: str) -> Recorded | None:
    """The commit this submission already produced, if any (a retry, maybe months later)."""
    for recorded in loaded.records:
        if recorded.commit.commit_id == commit_id:
            return recorded
    return None


async def handle_workflow(request: WorkflowRequest, ports: Ports) -> Accepted | Rejected:
    """One workflow command → one atomic commit, or a rejection that names the problem."""
    async with ports.locks(request.submission.project_id):
        return await _handle_workflow(request, ports)


async def _handle_workflow(request: WorkflowRequest, ports: Ports) -> Accepted | Rejected:
    sub = request.submission
    commit_id = commit_id_for(request.source, sub.idempotency_key)
    digest = request.submission_hash or submission_hash(sub)
    ids: dict[str, str] = {"idempotency_key": sub.idempotency_key, "project_id": sub.project_id}
    key, pid = sub.idempotency_key, sub.project_id
    for _ in range(ports.max_attempts):
        loaded = await ports.log.load_project(sub.project_id)
        prior = _prior(loaded, commit_id)
        if prior is not None:
            return judge_record(prior, sub, digest)
        state = fold(_events(loaded))
        try:  # a year the calendar in hand lacks is looked up in the log before it is refused (CalendarGap)
            events = await ports.calendar.deciding(
                partial(decide, state, sub.command, FixedClock(sub.occurred_at), policy=ports.policy),
                unknown=CalendarGap)
        except Refused as refused:
            return Rejected(code=refused.code, message=refused.message, field=json_path(refused.field), **ids)
        envelopes = [
            Envelope(event_id=event_id_for(commit_id, i), project_id=sub.project_id, occurred_at=sub.occurred_at,
                     actor=sub.actor, source=request.source, correlation_id=sub.correlation_id or sub.idempotency_key,
                     causation_id=commit_id, event=event)
            for i, event in enumerate(events)
        ]
        commit = next_commit(loaded, commit_id=commit_id, key=sub.project_id, events=envelopes,
                             source=request.source, idempotency_key=sub.idempotency_key, submission_hash=digest)
        try:
            done = await ports.log.append(commit, expected_version=loaded.version)
        except (ConcurrencyConflict, ChainMismatch):
            # Someone else wrote first: reload, decide again. ChainMismatch: this commit id landed with other
            # bytes (another replica decided it with another calendar version): the reload finds it.
            continue
        if (duplicate := await judge_duplicate(done, ports.log.get, sub, digest)) is not None:
            return duplicate  # the msg-id is in the stream already (a lost ack, or the key used on another project)
        return Accepted(idempotency_key=key, project_id=pid, event_ids=[e.event_id for e in envelopes],
                        project_version=done.seq,
                        commit_hash=done.hash, duplicate=done.duplicate)
    return Rejected(code="concurrency_exhausted", field="$.project_id", **ids,
                    message=f"project {sub.project_id} changed {ports.max_attempts} times while deciding; retry")


async def react_to_commit(commit: Commit, ports: Ports) -> int:
    """Open the first stages of every new application in `commit`; returns events appended.

    Raises UnknownYear when a due date falls in a year whose calendar is not published yet: the
    reaction must wait for it (the caller redelivers the commit later), not be dropped."""
    appended = 0
    for envelope in commit.events:
        if not isinstance(envelope.event, ev.ApplicationReceived):
            continue
        commit_id = commit_id_for(SERVICE_SOURCE, f"react:{envelope.event_id}")
        async with ports.locks(commit.key):
            appended += await _react_once(commit, envelope, commit_id, ports)
    return appended


async def _react_once(commit: Commit, envelope: Envelope, commit_id: str, ports: Ports) -> int:
    """Append the reaction to one ApplicationReceived once; returns the number of events appended."""
    event = envelope.event
    if not isinstance(event, ev.ApplicationReceived):
        return 0
    for _ in range(ports.max_attempts):
        loaded = await ports.log.load_project(commit.key)
        if _prior(loaded, commit_id) is not None:
            return 0
        state = fold(_events(loaded))
        # An UnknownYear the log's calendar does not know either propagates: the caller redelivers later.
        events = await ports.calendar.deciding(
            partial(react, state, event, policy=ports.policy, clock=FixedClock(envelope.occurred_at)))
        if not events:
            return 0
        envelopes = [
            Envelope(event_id=event_id_for(commit_id, i), project_id=commit.key, occurred_at=envelope.occurred_at,
                     actor="stages-service", source=SERVICE_SOURCE, correlation_id=envelope.correlation_id,
                     causation_id=envelope.event_id, event=e)
            for i, e in enumerate(events)
        ]
        try:
            await ports.log.append(next_commit(loaded, commit_id=commit_id, key=commit.key, events=envelopes),
                                   expected_version=loaded.version)
        except ConcurrencyConflict:
            continue
        return len(envelopes)
    raise ConcurrencyConflict(ports.log.subjects.project(commit.key), -1)  # nack: redelivered later
