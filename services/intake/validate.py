"""Bytes → Submission, or a Rejected naming the field and the problem in the publisher's terms."""

from __future__ import annotations

import msgspec

from contracts.codec import error_location
from contracts.commands import Submission
from contracts.receipts import Rejected

MAX_BYTES = 64 * 1024
"""Largest submission accepted (the contract's largest realistic command is a few KiB)."""

WHOLE = "$"
"""The `field` of a rejection about the message as a whole (its size, its JSON)."""
TOO_DEEP = "not accepted JSON: arrays or objects are nested too deeply"
_decoder = msgspec.json.Decoder(Submission)
_loose = msgspec.json.Decoder(dict[str, object])


def parse(raw: bytes, *, max_bytes: int = MAX_BYTES) -> Submission | Rejected:
    """Strict decode against the contract; unknown fields are tolerated (schema evolution)."""
    if len(raw) > max_bytes:
        return Rejected(code="too_large", message=f"message is {len(raw)} bytes; the limit is {max_bytes} bytes",
                        field=WHOLE)
    try:
        return _decoder.decode(raw)
    except msgspec.ValidationError as exc:
        return _invalid(str(exc), raw)
    except msgspec.DecodeError as exc:
        return Rejected(code="malformed", message=f"not valid JSON: {exc}", field=WHOLE)
    except RecursionError:  # msgspec's answer to arrays or objects nested thousands deep
        return Rejected(code="malformed", message=TOO_DEEP, field=WHOLE)


def _invalid(text: str, raw: bytes) -> Rejected:
    key, project = _identity(raw)
    what, field = error_location(text)
    if field == WHOLE and what.startswith("Expected `object`"):
        return Rejected(code="malformed", message=f"the message must be a JSON object: {text}", field=WHOLE)
    return Rejected(
        code="invalid_field",
        message=f"{field if field != WHOLE else 'message'}: {what}",
        field=field,
        idempotency_key=key,
        project_id=project,
    )


def _identity(raw: bytes) -> tuple[str | None, str | None]:
    """Best effort: the key and project id of an invalid submission, for its rejection receipt."""
    try:
        loose = _loose.decode(raw)
    except (msgspec.ValidationError, msgspec.DecodeError, RecursionError):
        return None, None
    key, project = loose.get("idempotency_key"), loose.get("project_id")
    return (
        key if isinstance(key, str) and len(key) <= 128 else None,
        project if isinstance(project, str) and len(project) <= 64 else None,
    )
