"""What an operator's `--as-of` means: a time is that very instant; a date alone is the whole of that day.

"What did the ledger say on 1 March?" asks about 1 March included, so `2026-03-01` means everything
up to the end of that day in the bureau's zone (Asia/Shanghai, +08:00): before 2026-03-02T00:00+08:00.
As-of filters keep what is at or before an instant (`<=`, build.as_of_filter), so the day is carried
as its last microsecond, 23:59:59.999999+08:00. That is exact: the log's times are floored to the
microsecond (logtime), so a time is before midnight exactly when it is at or before that microsecond.
The catalog stores the same instant, so an audit build's as-of day is still 1 March.
"""

from __future__ import annotations

import datetime as dt

import msgspec

from ledger.clock import BUREAU_TZ, in_bureau_zone

_TICK = dt.timedelta(microseconds=1)  # the finest step of every time in the log and the catalog


class AsOf(msgspec.Struct, frozen=True, kw_only=True):
    at: dt.datetime  # the last instant included
    day: dt.date | None = None  # the operator gave this date alone: `at` is the end of it

    def describe(self) -> str:
        """The interpretation, for the operator's and the auditor's record."""
        if self.day is not None:
            return f"as of {self.day.isoformat()} end of day (before {(self.at + _TICK).isoformat()})"
        return f"as of {self.at.isoformat()} (up to and including that instant)"


def end_of_day(day: dt.date) -> dt.datetime:
    """The last microsecond of `day` in the bureau's zone."""
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=BUREAU_TZ) - _TICK


def parse_as_of(raw: str) -> AsOf:
    """An ISO date (the whole day, +08:00) or an RFC 3339 / ISO time (without an offset: +08:00)."""
    text = raw.strip()
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        pass
    else:
        return AsOf(at=end_of_day(day), day=day)
    try:
        at = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"'{raw}' is not a date like 2026-03-01 (the whole day, +08:00) "
                         "or a time like 2026-03-01T09:30:00+08:00") from None
    return AsOf(at=in_bureau_zone(at))
