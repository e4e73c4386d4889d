"""Refused: why the bureau's rules turn a command down, in words a person understands."""

from __future__ import annotations

from contracts.receipts import ErrorCode


class Refused(Exception):
    """A command the rules refuse; ``code`` is a receipt ErrorCode, ``field`` the offending field."""

    def __init__(self, code: ErrorCode, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code: ErrorCode = code
        self.message = message
        self.field = field

    def __repr__(self) -> str:
        return f"Refused({self.code!r}, {self.message!r}, field={self.field!r})"


def invalid(field: str, message: str) -> Refused:
    return Refused("invalid_field", message, field=field)


def rule(message: str, field: str | None = None) -> Refused:
    return Refused("rule_violation", message, field=field)
