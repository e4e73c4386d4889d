"""Permanent idempotency without a second fsync'd write per submission.

The guarantee. For one source and one idempotency key, the ledger holds at most one commit, and
every later submission with that key gets either the original receipt (same payload, with
duplicate=true; nothing appended) or `idempotency_conflict` (different payload) — whenever it
comes, provided the index below is never more than STALE_AFTER (60 s) behind the log when a
submission is decided (intake refuses with `unavailable` otherwise, so the provision is enforced).

How, in three layers, none of which is an extra write:
1. The commit itself records (source, idempotency_key, submission_hash), and its commit id —
   the Nats-Msg-Id — is derived from (source, key) alone, with event ids derived from it, so the
   same submission on the same base builds byte-identical commits. JetStream's duplicate window
   (120 s) catches a retry racing the original anywhere in the stream (EventLog.append turns the
   10071-first-then-msg-id case into success; other bytes → ChainMismatch → conflict).
2. Before deciding, intake loads the project anyway: a commit of this (source, key) in the
   project's own history is found there — exact, with no lag, for any age.
3. A Postgres index (source, key) → (hash, receipt), fed from the log by a catch-up consumer
   (index.py), is consulted first; it covers the same key reused for *another* project after
   the duplicate window. Its residual window: such a reuse more than 120 s after the original
   and while the index has not yet applied the original — impossible while the index lags
   < 60 s, which intake checks before deciding.
Rejections are not recorded as key uses: nothing was written, so a corrected retry may reuse the key.
"""

from __future__ import annotations

from contracts.commands import Submission
from contracts.envelope import Commit, Envelope, Recorded
from contracts.events import DomainEvent
from ledger.eventlog import Loaded, next_commit
from ledger.ids import commit_id_for, event_id_for

__all__ = ["build_commit", "find_in"]


def build_commit(
    loaded: Loaded, submission: Submission, source: str, digest: str, events: list[DomainEvent]
) -> Commit:
    """The commit of a submission: same inputs, same bytes (no clock, no random ids)."""
    cid = commit_id_for(source, submission.idempotency_key)
    envelopes = [
        Envelope(
            event_id=event_id_for(cid, i),
            project_id=submission.project_id,
            occurred_at=submission.occurred_at,
            actor=submission.actor,
            source=source,
            correlation_id=submission.correlation_id or submission.idempotency_key,
            causation_id=cid,
            event=event,
        )
        for i, event in enumerate(events)
    ]
    return next_commit(loaded, commit_id=cid, key=submission.project_id, events=envelopes, source=source,
                       idempotency_key=submission.idempotency_key, submission_hash=digest)


def find_in(loaded: Loaded, source: str, key: str) -> Recorded | None:
    """The commit of (source, key) in one project's history, if any."""
    for record in loaded.records:
        if record.commit.source == source and record.commit.idempotency_key == key:
            return record
    return None
