"""Parsing the log's timestamps (RFC 3339 with nanoseconds) into aware datetimes."""

from __future__ import annotations

import datetime as dt


def parse_nats_time(raw: str) -> dt.datetime:
    """'2026-11-21T11:15:02.123456789Z' → datetime (microsecond precision, UTC)."""
    text = raw.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    main, sep, rest = text.partition(".")
    if sep:
        digits = ""
        i = 0
        while i < len(rest) and rest[i].isdigit():
            digits += rest[i]
            i += 1
        text = f"{main}.{(digits + '000000')[:6]}{rest[i:]}"
    return dt.datetime.fromisoformat(text).astimezone(dt.UTC)


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def from_unix_nanos(nanos: int) -> dt.datetime:
    """Floor to microseconds with integer math (float division can round past the real time)."""
    return _EPOCH + dt.timedelta(microseconds=nanos // 1000)


def ack_fields(reply: str) -> tuple[int, int, int]:
    """(stream sequence, recorded unix nanos, pending) from a JetStream ack subject ($JS.ACK.…, v1 and
    v2 token layouts)."""
    tokens = reply.split(".")
    base = 5 if len(tokens) == 9 else 7
    return int(tokens[base]), int(tokens[base + 2]), int(tokens[base + 3])


def ack_subject_time(reply: str) -> dt.datetime:
    """Recorded time from a JetStream ack subject."""
    return from_unix_nanos(ack_fields(reply)[1])
