"""The log's unit: a commit of one command's events for one stream key, hash-chained per key."""

from __future__ import annotations

from typing import Literal

import msgspec

from contracts.events import DomainEvent
from contracts.types import Name, Sha256, SourceId, Text, UtcTime

SCHEMA_VERSION = 1


class Envelope(msgspec.Struct, frozen=True, kw_only=True):
    """One event with its metadata. `recorded_at` and the stream sequence come from the log."""

    event_id: str
    project_id: str | None
    occurred_at: UtcTime
    actor: Name
    source: SourceId
    correlation_id: Text = ""
    causation_id: Text = ""
    schema_version: int = SCHEMA_VERSION
    event: DomainEvent


class Commit(msgspec.Struct, frozen=True, kw_only=True):
    """One JetStream message: all events of one command, all or nothing.

    The message body is the canonical encoding (JSON, keys sorted, no whitespace) and the commit's
    own hash is SHA-256 of exactly those bytes, carried in the `Ledger-Commit-Hash` header.
    `prev_hash` is the hash of the previous commit on the same key (GENESIS_HASH for the first), so
    each key's history is a hash chain an auditor can check from the raw bytes alone.
    """

    commit_id: str
    kind: Literal["project", "calendar"] = "project"
    key: str
    number: int
    prev_hash: Sha256
    events: list[Envelope]
    # Provenance of the submission that produced this commit (empty for internal commits):
    # the log itself is the permanent idempotency record — (source, idempotency_key) → commit.
    source: Text = ""
    idempotency_key: Text = ""
    submission_hash: Text = ""


class Recorded(msgspec.Struct, frozen=True, kw_only=True):
    """A commit as read back from the log, with what the log adds."""

    seq: int
    subject: str
    recorded_at: UtcTime
    hash: Sha256
    commit: Commit
