"""Deterministic ids: a retried submission rebuilds byte-identical commits (same msg-id, same hash)."""

from __future__ import annotations

import uuid

from contracts.codec import canonical, sha256_hex
from contracts.commands import Submission

_NAMESPACE = uuid.UUID("6f1d3c1e-8a59-4f7e-9a3e-0c2b7d5e4a10")


def commit_id_for(source: str, idempotency_key: str) -> str:
    """The commit id (and Nats-Msg-Id) of a publisher's submission: one per (source, key)."""
    return str(uuid.uuid5(_NAMESPACE, f"{source}\x00{idempotency_key}"))


def event_id_for(commit_id: str, index: int) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{commit_id}\x00{index}"))


def submission_hash(submission: Submission) -> str:
    """SHA-256 of the submission's canonical bytes: 'same payload' means same hash."""
    return sha256_hex(canonical(submission))
