"""Answers to a submission: an accepted receipt or a rejection naming the field and the problem."""

from __future__ import annotations

from typing import Literal

import msgspec

from contracts.types import UtcTime

ErrorCode = Literal[
    "malformed",
    "invalid_field",
    "too_large",
    "unknown_project",
    "duplicate_project",
    "project_withdrawn",
    "occurred_in_future",
    "idempotency_conflict",
    "forbidden_source",
    "rule_violation",
    "concurrency_exhausted",
    "unavailable",
    "internal_error",
]

ERROR_CODES: dict[str, str] = {
    "malformed": "The bytes are not a JSON object of the submission shape.",
    "invalid_field": "A field is missing, of the wrong type, or out of range; `field` names it.",
    "too_large": "The message exceeds the size limit.",
    "unknown_project": "The command names a project the ledger does not hold.",
    "duplicate_project": "SubmitApplication for a project id that already exists.",
    "project_withdrawn": "The project was withdrawn; it accepts no more commands.",
    "occurred_in_future": "occurred_at is later than the ledger's clock plus the tolerance.",
    "idempotency_conflict": "The idempotency key was used before with a different payload.",
    "forbidden_source": "The source system may not send this command.",
    "rule_violation": "The bureau's workflow rules refuse the command; `message` says why.",
    "concurrency_exhausted": "Too many concurrent writers on this project; retry with the same key.",
    "unavailable": "A service needed to answer is temporarily unavailable; retry with the same key.",
    "internal_error": "An unexpected failure; nothing was written; retry with the same key.",
}


class Accepted(msgspec.Struct, frozen=True, kw_only=True, tag_field="status", tag="accepted"):
    idempotency_key: str
    project_id: str
    event_ids: list[str]
    project_version: int
    commit_hash: str
    recorded_at: UtcTime | None = None
    duplicate: bool = False


class Rejected(msgspec.Struct, frozen=True, kw_only=True, tag_field="status", tag="rejected"):
    code: ErrorCode
    message: str
    field: str | None = None
    idempotency_key: str | None = None
    project_id: str | None = None


Receipt = Accepted | Rejected
