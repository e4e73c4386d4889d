"""The working-day calendar in force: the shipped one plus the years published in the event log."""

from __future__ import annotations

import logging
import time

from contracts.envelope import Recorded
from contracts.events import CalendarPublished
from ledger.eventlog import EventLog
from ledger.workdays import CalendarError, WorkingCalendar

log = logging.getLogger("stages.calendar")


def apply_published(calendar: WorkingCalendar, recorded: Recorded) -> WorkingCalendar:
    """Fold one calendar commit into the calendar (a later commit for a year is a correction)."""
    for envelope in recorded.commit.events:
        event = envelope.event
        if isinstance(event, CalendarPublished):
            try:
                calendar = calendar.with_year(event.year, event.holidays, event.workdays, revision=recorded.seq,
                                              correction=event.year in calendar.known_years)
            except CalendarError as err:  # validated before append; an old bad record must not jam us
                log.error("calendar commit seq %s ignored: %s", recorded.seq, err)
    return calendar


class CalendarSource:
    """Holds the current calendar; `refresh()` folds in every calendar commit of the log."""

    def __init__(self, log_: EventLog, base: WorkingCalendar | None = None) -> None:
        self.log = log_
        self.base = base or WorkingCalendar.default()
        self.current = self.base
        self._read_at: float | None = None  # monotonic time of the last refresh

    async def refresh(self, *, unless_younger_than: float = 0.0) -> WorkingCalendar:
        """Read every calendar commit again; with `unless_younger_than`, not if the last read is that recent."""
        if self._read_at is not None and time.monotonic() - self._read_at < unless_younger_than:
            return self.current
        self._read_at = time.monotonic()
        calendar = self.base
        records: list[Recorded] = []
        for year in await self.log.keys("calendar"):
            records.extend((await self.log.load("calendar", year)).records)
        for recorded in sorted(records, key=lambda r: r.seq):
            calendar = apply_published(calendar, recorded)
        self.current = calendar
        return calendar
