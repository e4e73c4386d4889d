"""The official Chinese working-day calendar (holidays and 调休 make-up days) and deadline arithmetic.

Convention (the bureau's 限时办结 rule, "the acceptance day does not count"):

* ``add_working_days(start, n)`` is the n-th working day strictly after ``start``. A start on a
  weekend or holiday therefore counts from the next working day: 1 working day after a Friday is the
  next Monday, and 1 working day after a Saturday is also that Monday. ``n == 0`` returns ``start``
  itself (a same-day item is due the day it is accepted).
* ``working_days_between(start, end)`` counts working days in the half-open interval (start, end];
  it is negative when ``end`` is before ``start``. So ``working_days_between(s, add_working_days(s, n))
  == n`` for every n >= 0, and ``add_working_days(s, working_days_between(s, e))`` is ``e`` when ``e``
  is a working day after ``s`` (else the last working day before ``e``).

A date in a year the calendar has no official schedule for raises ``UnknownYear``: weekends are easy
to guess, the State Council's holidays are not, and a guessed deadline is a wrong fact forever.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable

import chinese_calendar
from chinese_calendar import constants as _cc

PACKAGE_VERSION: str = chinese_calendar.__version__
BASE_VERSION = f"chinesecalendar-{PACKAGE_VERSION}"


class UnknownYear(LookupError):
    """The calendar has no official working-day schedule for this year."""

    def __init__(self, year: int) -> None:
        self.year = year
        super().__init__(
            f"no official working-day calendar for {year}: "
            f"publish it with `ledger calendar publish FILE`"
        )


class CalendarError(ValueError):
    """A published year's schedule is inconsistent."""


class _Year:
    """One year's schedule: holidays that fall on weekdays and weekend days made working days."""

    __slots__ = ("holidays", "workdays", "working")

    def __init__(self, year: int, holidays: frozenset[dt.date], workdays: frozenset[dt.date]) -> None:
        self.holidays = holidays
        self.workdays = workdays
        day = dt.date(year, 1, 1)
        working: list[int] = []
        while day.year == year:
            is_weekend = day.weekday() >= 5
            if (day in workdays) or (not is_weekend and day not in holidays):
                working.append(day.toordinal())
            day += dt.timedelta(days=1)
        self.working = tuple(working)


class WorkingCalendar:
    """Immutable calendar; build the default with ``WorkingCalendar.default()``."""

    def __init__(self, years: dict[int, _Year], version: str) -> None:
        self._years = dict(years)
        self.version = version
        # One sorted array of working-day ordinals over all known years: deadline arithmetic is
        # then a bisect and an index, whatever the span.
        self._ordinals: tuple[int, ...] = tuple(
            o for y in sorted(self._years) for o in self._years[y].working
        )
        self._ordinal_set = frozenset(self._ordinals)

    @classmethod
    def default(cls) -> WorkingCalendar:
        """The schedule shipped in the chinesecalendar package (2004 to its last year)."""
        holidays: dict[int, set[dt.date]] = {}
        workdays: dict[int, set[dt.date]] = {}
        for d in _cc.holidays:
            holidays.setdefault(d.year, set()).add(d)
        for d in _cc.workdays:
            workdays.setdefault(d.year, set()).add(d)
        first, last = min(holidays), max(holidays)
        years = {
            y: _Year(y, frozenset(holidays.get(y, ())), frozenset(workdays.get(y, ())))
            for y in range(first, last + 1)
        }
        return cls(years, BASE_VERSION)

    @property
    def known_years(self) -> tuple[int, ...]:
        return tuple(sorted(self._years))

    def holidays(self, year: int) -> tuple[dt.date, ...]:
        return tuple(sorted(self._year(year).holidays))

    def workdays(self, year: int) -> tuple[dt.date, ...]:
        """Weekend days of ``year`` made working days (调休)."""
        return tuple(sorted(self._year(year).workdays))

    def _year(self, year: int) -> _Year:
        try:
            return self._years[year]
        except KeyError:
            raise UnknownYear(year) from None

    def _check_span(self, first: int, last: int) -> None:
        for year in range(first, last + 1):
            self._year(year)

    def is_working_day(self, d: dt.date) -> bool:
        self._year(d.year)
        return d.toordinal() in self._ordinal_set

    def add_working_days(self, start: dt.date, n: int) -> dt.date:
        """The n-th working day strictly after ``start``; ``start`` itself for n == 0."""
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        self._year(start.year)
        if n == 0:
            return start
        index = bisect.bisect_right(self._ordinals, start.toordinal()) + n - 1
        if index >= len(self._ordinals):
            raise UnknownYear(max(self._years) + 1)
        due = dt.date.fromordinal(self._ordinals[index])
        # The array skips years that were never published: refuse to jump over one.
        self._check_span(start.year, due.year)
        return due

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """Working days in (start, end]; negative when end < start."""
        if end < start:
            return -self.working_days_between(end, start)
        self._check_span(start.year, end.year)
        lo = bisect.bisect_right(self._ordinals, start.toordinal())
        hi = bisect.bisect_right(self._ordinals, end.toordinal())
        return hi - lo

    def with_year(
        self,
        year: int,
        holidays: Iterable[dt.date],
        workdays: Iterable[dt.date],
        *,
        revision: int | str | None = None,
        correction: bool = False,
    ) -> WorkingCalendar:
        """A new calendar with an operator-published year (a CalendarPublished event).

        ``revision`` (the log sequence of the event) goes into ``version`` so that every deadline
        names the exact schedule it was computed with. An already known year is refused unless
        ``correction`` is set.
        """
        hol, work = frozenset(holidays), frozenset(workdays)
        if year < 1 or year > 9998:
            raise CalendarError(f"year {year} is out of range")
        for kind, days in (("holiday", hol), ("workday", work)):
            stray = sorted(d for d in days if d.year != year)
            if stray:
                raise CalendarError(f"{kind} {stray[0].isoformat()} is not in {year}")
        both = sorted(hol & work)
        if both:
            raise CalendarError(f"{both[0].isoformat()} is listed both as a holiday and as a workday")
        weekday_work = sorted(d for d in work if d.weekday() < 5)
        if weekday_work:
            raise CalendarError(
                f"workday {weekday_work[0].isoformat()} is a weekday: list only weekend days made working days"
            )
        if year in self._years and not correction:
            raise CalendarError(
                f"the calendar already holds {year} ({self.version}); publish it as a correction to replace it"
            )
        years = dict(self._years)
        years[year] = _Year(year, hol, work)
        suffix = f"{year}@{revision}" if revision is not None else str(year)
        return WorkingCalendar(years, f"{self.version}+{suffix}")
