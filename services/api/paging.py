"""Keyset (cursor) pagination: an opaque cursor carries the sort and the last row's sort key and id.

Cursors are base64url JSON `[sort, value, id]`. A cursor made under another sort, or one that
does not decode, is refused with a 400 naming `cursor` — never silently restarted.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt

import msgspec

from services.api.errors import bad_parameter

CursorValue = str | int | float | bool | None


class Cursor(msgspec.Struct, frozen=True, array_like=True):
    sort: str
    value: CursorValue
    id: str


def encode_cursor(sort: str, value: object, row_id: str) -> str:
    if isinstance(value, dt.date):
        value = value.isoformat()
    raw = msgspec.json.encode(Cursor(sort=sort, value=value, id=row_id))  # type: ignore[arg-type]
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(raw: str, sort: str) -> Cursor:
    try:
        padded = raw + "=" * (-len(raw) % 4)
        cursor = msgspec.json.decode(base64.urlsafe_b64decode(padded.encode()), type=Cursor)
    except (binascii.Error, ValueError, msgspec.DecodeError):
        raise bad_parameter("cursor", "not a cursor this API returned") from None
    if cursor.sort != sort:
        raise bad_parameter("cursor", f"the cursor was made for sort '{cursor.sort}', not '{sort}'")
    return cursor


def parse_sort(raw: str, allowed: dict[str, str]) -> tuple[str, str, bool]:
    """`name` or `-name` → (name, SQL key expression, descending)."""
    desc = raw.startswith("-")
    name = raw[1:] if desc else raw
    if name not in allowed:
        choices = ", ".join(sorted(allowed))
        raise bad_parameter("sort", f"'{raw}' is not a sort key; use one of {choices} (prefix '-' for descending)")
    return name, allowed[name], desc
