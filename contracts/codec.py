"""The one codec: typed encoders/decoders built once, canonical bytes and the commit hash."""

from __future__ import annotations

import hashlib
import re

import msgspec

from contracts.commands import Submission, WorkflowRequest
from contracts.envelope import Commit
from contracts.events import DomainEvent
from contracts.receipts import Accepted, Receipt, Rejected

# Canonical form: JSON with keys sorted at every level, no whitespace. The commit hash is
# SHA-256 of exactly the bytes stored, so verifying needs no re-encoding.
_canonical = msgspec.json.Encoder(order="sorted")
_encoder = msgspec.json.Encoder()

commit_decoder = msgspec.json.Decoder(Commit)
submission_decoder = msgspec.json.Decoder(Submission)
receipt_decoder = msgspec.json.Decoder(Receipt)
event_decoder = msgspec.json.Decoder(DomainEvent)
workflow_decoder = msgspec.json.Decoder(WorkflowRequest)


def canonical(obj: object) -> bytes:
    return _canonical.encode(obj)


def encode(obj: object) -> bytes:
    return _encoder.encode(obj)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def encode_commit(commit: Commit) -> tuple[bytes, str]:
    """Canonical body of a commit and its hash."""
    body = _canonical.encode(commit)
    return body, sha256_hex(body)


def decode_commit(body: bytes) -> Commit:
    return commit_decoder.decode(body)


def decode_submission(body: bytes) -> Submission:
    return submission_decoder.decode(body)


def decode_receipt(body: bytes) -> Accepted | Rejected:
    receipt: Accepted | Rejected = receipt_decoder.decode(body)
    return receipt


_AT = re.compile(r"^(?P<what>.*?) - at `\$(?P<path>[^`]*)`$", re.S)
_MISSING = re.compile(r"^Object missing required field `(?P<name>[^`]+)`$")


def error_location(message: str) -> tuple[str, str]:
    """A msgspec decode error's message as (problem, JSON path of the offending field): "Expected `str`,
    got `int` - at `$.command.stage`" → ("Expected `str`, got `int`", "$.command.stage"). A missing
    required field is named in the path ("$.actor", "required field `actor` is missing"); the path is
    "$" (the document as a whole) when msgspec names none."""
    m = _AT.match(message)
    what, path = (m["what"], f"${m['path']}") if m else (message, "$")
    missing = _MISSING.match(what)
    if missing:
        return f"required field `{missing['name']}` is missing", f"{path}.{missing['name']}"
    return what, path
