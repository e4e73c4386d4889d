"""Receipts of commits already in the log: shared by intake and stages, the two writers of submissions.

A submission's commit id comes from (source, idempotency key) alone, so a key seen before is found
either in the project's own history or, reused on another project, as JetStream's duplicate of the
original message; either way the answer is the original receipt or `idempotency_conflict`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import msgspec

from contracts.commands import Submission
from contracts.envelope import Recorded
from contracts.receipts import Accepted, Rejected

if TYPE_CHECKING:
    from ledger.eventlog import AppendResult


def receipt_of(record: Recorded, *, duplicate: bool) -> Accepted:
    return Accepted(
        idempotency_key=record.commit.idempotency_key,
        project_id=record.commit.key,
        event_ids=[e.event_id for e in record.commit.events],
        project_version=record.seq,
        commit_hash=record.hash,
        duplicate=duplicate,
    )


def judge(original_hash: str, original: Accepted, submission: Submission, digest: str) -> Accepted | Rejected:
    """A key seen before: the original receipt again, or a conflict if the payload differs."""
    if original_hash == digest:
        return msgspec.structs.replace(original, duplicate=True)
    return Rejected(
        code="idempotency_conflict",
        message=f"idempotency_key {submission.idempotency_key!r} was used before with a different payload "
        f"(project {original.project_id}, version {original.project_version}); use a new key for a new submission",
        field="$.idempotency_key",
        idempotency_key=submission.idempotency_key,
        project_id=submission.project_id,
    )


def judge_record(record: Recorded, submission: Submission, digest: str) -> Accepted | Rejected:
    """`judge` against a commit already in the log: its original receipt, or a conflict."""
    return judge(record.commit.submission_hash, receipt_of(record, duplicate=False), submission, digest)


async def judge_duplicate(done: AppendResult, get: Callable[[int], Awaitable[Recorded | None]],
                          submission: Submission, digest: str) -> Accepted | Rejected | None:
    """The answer to an append the log reported as a duplicate — the original's receipt, or a conflict (the
    key used before with another payload, perhaps on another project) — or None when it was no duplicate or
    the original cannot be read. `get` reads the original at its sequence unless the log had it in hand."""
    if not done.duplicate:
        return None
    original = done.original or await get(done.seq)
    return None if original is None else judge_record(original, submission, digest)
