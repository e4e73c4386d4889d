"""The working-day calendar in force: the shipped one plus the years published in the event log."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import ClassVar, TypeVar

import tenacity

from contracts.envelope import Recorded
from contracts.events import CalendarPublished
from ledger.eventlog import EventLog
from ledger.natsconn import NATS_TRANSIENT
from ledger.waits import cancel_and_wait
from ledger.workdays import CalendarError, UnknownYear, WorkingCalendar

log = logging.getLogger("stages.calendar")
T = TypeVar("T")


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
    """Holds the current calendar; `refresh()` folds in every calendar commit of the log.

    A service learns of a publication from a core NATS notice, which a process that was
    reconnecting at the time never gets. Two things make up for it: the connection that hears the
    notices calls `catch_up()` each time it reconnects (a correction of a year the copy has is found
    only so), and whoever meets a year its copy lacks goes through `deciding()`, which asks the log
    whether that copy is behind before believing the year unpublished. Reads are single-flight:
    concurrent callers share one read.
    """

    CATCH_UP_WAIT: ClassVar[tenacity.wait.wait_base] = tenacity.wait_exponential(multiplier=0.5, max=30)
    """Between tries of a catch-up read."""

    def __init__(self, log_: EventLog, base: WorkingCalendar | None = None) -> None:
        self.log = log_
        self.base = base or WorkingCalendar.default()
        self.current = self.base
        self.reads = 0  # reads of the log's calendar commits done
        self._read_at: float | None = None  # monotonic time at which the last successful read began
        self._checked_at: float | None = None  # … the last look at the log's calendar keys (or read) began
        self._listed: dict[str, int] = {}  # the log's calendar keys and their commits, as the last read listed them
        self._reading = asyncio.Lock()
        self._catch_ups: set[asyncio.Task[None]] = set()  # running; a replaced one until its cancel is through
        self._closed = False

    async def refresh(self) -> WorkingCalendar:
        """Read every calendar commit again — unless a read that began after this call asked is done by
        the time this one gets its turn: that read saw everything this one would."""
        asked = time.monotonic()
        async with self._reading:
            if self._read_at is None or self._read_at < asked:
                began = time.monotonic()
                await self._read(await self.log.keys("calendar"), began)
            return self.current

    def catch_up(self) -> asyncio.Task[None]:
        """Read the calendar again in the background, trying until the log answers: for a connection that
        has just reconnected (its callback must not wait on the log, which may be reconnecting too).
        A catch-up still trying is replaced: its read may have begun before this reconnect. Only NATS
        failures that pass are tried again; any other is logged and ends the catch-up."""
        for replaced in self._catch_ups:
            replaced.cancel()  # not awaited here (a reconnect callback must not wait); close() waits for it
        task = asyncio.create_task(self._catch_up(), name="calendar catch-up")
        self._catch_ups.add(task)
        task.add_done_callback(self._catch_ups.discard)
        return task

    async def _catch_up(self) -> None:
        if self._closed:  # a reconnect between close() and the broker's stop: nothing to catch up for
            return
        before = self.current.version
        retrying = tenacity.AsyncRetrying(
            # a closed connection is closed for good (nats-py gave up reconnecting): no use trying again
            wait=self.CATCH_UP_WAIT, reraise=True,
            retry=tenacity.retry_if_exception(lambda e: isinstance(e, NATS_TRANSIENT) and not self.log.nc.is_closed),
            before_sleep=lambda state: log.warning(
                "reading the calendar after a reconnect failed (%s); trying again in %.1f s",
                state.outcome.exception() if state.outcome else None,
                state.next_action.sleep if state.next_action else 0))
        try:
            async for attempt in retrying:
                with attempt:
                    await self.refresh()
        except Exception:
            log.exception("reading the calendar after a reconnect failed; the calendar in hand stays %s",
                          self.current.version)
            return
        if self.current.version != before:
            log.warning("calendar notices were missed while reconnecting: now %s (was %s)",
                        self.current.version, before)

    async def close(self) -> None:
        """Stop a catch-up still trying, and start none after this (before the log's connection closes)."""
        self._closed = True
        await cancel_and_wait(self._catch_ups)

    async def deciding(self, decide: Callable[[WorkingCalendar], T], *, unknown: type[Exception] = UnknownYear) -> T:
        """`decide(current calendar)`; when it raises `unknown` (it met a year the copy in hand lacks), and
        the log took a calendar commit since the copy was read, read the log's calendar again and decide
        once more. If the year is unknown still, that `unknown` propagates: the year is really unpublished.

        "Took a commit since": the log's calendar keys with their commit counts differ from those the last
        read listed. Not "the log holds a year the copy lacks": a bad commit the read skipped (see
        apply_published) is such a year for good, and every miss would read the whole calendar again."""
        asked = time.monotonic()
        held = self.current
        try:
            return decide(held)
        except unknown:
            async with self._reading:  # one at a time; a look that began after this caller asked serves it too
                if self._checked_at is None or self._checked_at < asked:
                    began = time.monotonic()
                    years = await self.log.keys("calendar")
                    if years != self._listed:
                        await self._read(years, began)
                    else:
                        self._checked_at = began
            if self.current is held:  # nothing newer to decide with: the year is really unpublished
                raise
        return decide(self.current)

    async def _read(self, years: dict[str, int], began: float) -> None:
        """Fold every calendar commit of `years` (the log's calendar keys and their commits, listed at `began`)."""
        calendar = self.base
        records: list[Recorded] = []
        for year in years:
            records.extend((await self.log.load("calendar", year)).records)
        for recorded in sorted(records, key=lambda r: r.seq):
            calendar = apply_published(calendar, recorded)
        self.current, self._read_at, self._listed = calendar, began, years
        self._checked_at = began
        self.reads += 1
