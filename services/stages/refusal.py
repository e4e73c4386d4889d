"""Refused: why the bureau's rules turn a command down, in words a person understands, naming the field."""

from __future__ import annotations

import msgspec

from contracts.codec import error_location
from contracts.commands import Submission
from contracts.receipts import ErrorCode

# Fields of the submission itself; every other field the domain names is a field of its command.
SUBMISSION_FIELDS = frozenset(f.encode_name for f in msgspec.structs.fields(Submission))


class Refused(Exception):
    """A command the rules refuse; ``code`` is a receipt ErrorCode, ``field`` the offending field.

    ``field`` is required: a publisher must always be told which of its fields to look at. It is
    named as the command's field ('stage', 'document.kind') or the submission's ('project_id',
    'occurred_at' for the date the command happened); `json_path` turns it into the publisher's path.
    """

    def __init__(self, code: ErrorCode, message: str, field: str) -> None:
        super().__init__(message)
        self.code: ErrorCode = code
        self.message = message
        self.field = field

    def __repr__(self) -> str:
        return f"Refused({self.code!r}, {self.message!r}, field={self.field!r})"


class CalendarGap(Refused):
    """A rule_violation for want of a calendar: a date the command needs falls in a year the calendar in
    hand has no official schedule for. A newer read of the calendar may know that year (CalendarSource.deciding)."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__("rule_violation", message, field=field)


def invalid(field: str, message: str) -> Refused:
    return Refused("invalid_field", message, field=field)


def rule(message: str, field: str) -> Refused:
    return Refused("rule_violation", message, field=field)


def json_path(field: str) -> str:
    """The domain names a command field ('due_on'); publishers see JSON paths ('$.command.due_on')."""
    if field.startswith("$"):
        return field
    if field.split(".", 1)[0] in SUBMISSION_FIELDS:
        return f"$.{field}"
    return f"$.command.{field}"


def decode_error_path(err: msgspec.DecodeError) -> str:
    """Where a WorkflowRequest failed to decode, as a path of the submission ('$' when msgspec names none).

    The request wraps the publisher's submission in `submission`; its paths are given without that wrapper.
    """
    _, path = error_location(str(err))
    if path == "$.submission" or path.startswith(("$.submission.", "$.submission[")):
        return "$" + path.removeprefix("$.submission")
    return path
