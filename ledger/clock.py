"""The clock port: domain code is handed one, never calls now() itself."""

from __future__ import annotations

import datetime as dt
from typing import Protocol
from zoneinfo import ZoneInfo

BUREAU_TZ = ZoneInfo("Asia/Shanghai")


class Clock(Protocol):
    def now(self) -> dt.datetime:
        """Current time, timezone-aware."""
        ...


class SystemClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


class FixedClock:
    """A clock stopped at one instant (a command's occurred_at, or a test's chosen time)."""

    def __init__(self, at: dt.datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware datetime")
        self.at = at

    def now(self) -> dt.datetime:
        return self.at

    def advance(self, delta: dt.timedelta) -> None:
        self.at = self.at + delta


def in_bureau_zone(at: dt.datetime) -> dt.datetime:
    """An operator's time as an instant: without an offset it is the bureau's (Asia/Shanghai) time."""
    return at if at.tzinfo is not None else at.replace(tzinfo=BUREAU_TZ)


def local_date(at: dt.datetime) -> dt.date:
    """The bureau's calendar date (Asia/Shanghai) of an instant."""
    return at.astimezone(BUREAU_TZ).date()
