"""CalendarSource: a year the calendar in hand lacks is looked up in the log before it is believed unpublished.

A service hears of a publication by a core NATS notice; a process that was reconnecting then never
hears it. These tests publish a year with no one listening (the missed notice) and check that
`deciding` still finds it, with one shared read however many callers meet the gap at once.
"""

from __future__ import annotations

import asyncio
import datetime as dt

import nats
import nats.errors
import pytest
import tenacity

from ledger.calendar_log import CalendarSource
from ledger.eventlog import EventLog, next_commit
from ledger.workdays import UnknownYear, WorkingCalendar
from tests.factories import calendar, calendar_2027
from tests.faults import Fault, faulty
from tests.waiting import until

NEW_YEARS_EVE = dt.date(2026, 12, 31)


def first_working_day_of_2027(calendar: WorkingCalendar) -> dt.date:
    return calendar.add_working_days(NEW_YEARS_EVE, 1)  # raises UnknownYear without 2027's schedule


async def test_a_year_published_while_no_notice_arrived_is_found_in_the_log(log: EventLog) -> None:
    source = CalendarSource(log)
    await source.refresh()
    with pytest.raises(UnknownYear):
        first_working_day_of_2027(source.current)
    await log.append(calendar_2027(), expected_version=0)  # published; this process got no notice

    # 1 January 2027 is a holiday in calendar_2027, so the first working day after 31 December is the 4th
    # (Saturday 2 and Sunday 3 January are weekend days).
    assert await source.deciding(first_working_day_of_2027) == dt.date(2027, 1, 4)
    assert source.reads == 2


async def test_concurrent_callers_meeting_the_gap_share_one_read(log: EventLog) -> None:
    await log.append(calendar_2027(), expected_version=0)
    source = CalendarSource(log)  # not read yet: it holds the shipped calendar, without 2027
    days = await asyncio.gather(*(source.deciding(first_working_day_of_2027) for _ in range(20)))
    assert set(days) == {dt.date(2027, 1, 4)}
    assert source.reads == 1  # one for all twenty


async def test_concurrent_refreshes_share_a_read_begun_after_they_asked(log: EventLog) -> None:
    source = CalendarSource(log)
    await asyncio.gather(*(source.refresh() for _ in range(10)))
    # The first read began before the others asked (they may miss what it missed); the next one began
    # after all of them asked, so it serves them all.
    assert source.reads == 2


async def test_a_year_the_log_lacks_too_is_still_unknown_and_the_calendar_not_read_again(log: EventLog) -> None:
    source = CalendarSource(log)
    for _ in range(5):
        with pytest.raises(UnknownYear, match="2027"):
            await source.deciding(first_working_day_of_2027)
    assert source.reads == 0  # the log's calendar keys showed nothing the copy lacks: no read


async def test_a_bad_calendar_commit_the_read_skipped_is_not_read_again_at_every_miss(log: EventLog) -> None:
    await log.append(calendar(2027, [dt.date(2028, 1, 1)]), expected_version=0)  # a stray date: skipped when read
    source = CalendarSource(log)
    for _ in range(5):
        with pytest.raises(UnknownYear, match="2027"):
            await source.deciding(first_working_day_of_2027)
    assert source.reads == 1  # the first miss read it (and skipped it); the log took nothing since

    good = next_commit(await log.load("calendar", "2027"), commit_id="cal-2027-fixed", key="2027",
                       events=calendar_2027().events, kind="calendar")
    await log.append(good, expected_version=1)  # the office publishes a good 2027
    assert await source.deciding(first_working_day_of_2027) == dt.date(2027, 1, 4)
    assert source.reads == 2


async def test_concurrent_callers_meeting_an_unpublished_year_share_the_look_in_the_log(
        log: EventLog, monkeypatch: pytest.MonkeyPatch) -> None:
    looks = 0
    keys = log.keys

    async def counted(kind: str) -> dict[str, int]:
        nonlocal looks
        looks += 1
        return await keys(kind)
    monkeypatch.setattr(log, "keys", counted)
    source = CalendarSource(log)
    outcomes = await asyncio.gather(*(source.deciding(first_working_day_of_2027) for _ in range(20)),
                                    return_exceptions=True)
    assert all(isinstance(o, UnknownYear) for o in outcomes)
    # The first look began before the others asked; the second began after all of them asked and serves them.
    assert (looks, source.reads) == (2, 0)


async def test_a_catch_up_after_a_reconnect_tries_until_the_log_answers(
        log: EventLog, monkeypatch: pytest.MonkeyPatch) -> None:
    source = CalendarSource(faulty(log, keys=(down := Fault(nats.errors.TimeoutError, times=3))))
    monkeypatch.setattr(CalendarSource, "CATCH_UP_WAIT", tenacity.wait_none())
    await log.append(calendar_2027(), expected_version=0)  # published while this process was reconnecting
    await asyncio.wait_for(source.catch_up(), timeout=10)
    assert down.failed == 3 and source.reads == 1
    assert first_working_day_of_2027(source.current) == dt.date(2027, 1, 4)


async def test_a_new_reconnect_replaces_a_catch_up_still_trying(log: EventLog, monkeypatch: pytest.MonkeyPatch) -> None:
    source = CalendarSource(faulty(log, keys=(down := Fault(nats.errors.TimeoutError, down=True))))
    monkeypatch.setattr(CalendarSource, "CATCH_UP_WAIT", tenacity.wait_fixed(0.01))
    first = source.catch_up()
    await until(lambda: down.failed >= 2, what="the first catch-up trying")
    second = source.catch_up()  # its read must begin after this reconnect: the first one's may not have
    down.release()
    await asyncio.wait_for(second, timeout=10)
    assert first.cancelled() and source.reads == 1


async def test_a_catch_up_meeting_a_failure_that_does_not_pass_stops_and_says_so(
        log: EventLog, caplog: pytest.LogCaptureFixture) -> None:
    source = CalendarSource(faulty(log, keys=(broken := Fault(ValueError("a bad calendar record"), down=True))))
    await asyncio.wait_for(source.catch_up(), timeout=10)  # ends, not tried for ever
    assert broken.failed == 1 and source.reads == 0
    assert "reading the calendar after a reconnect failed" in caplog.text and "a bad calendar record" in caplog.text


async def test_close_stops_a_catch_up_still_trying(log: EventLog, monkeypatch: pytest.MonkeyPatch) -> None:
    source = CalendarSource(faulty(log, keys=(down := Fault(nats.errors.TimeoutError, down=True))))
    monkeypatch.setattr(CalendarSource, "CATCH_UP_WAIT", tenacity.wait_fixed(0.01))
    trying = source.catch_up()
    await until(lambda: down.failed >= 1, what="the catch-up trying")
    await asyncio.wait_for(source.close(), timeout=10)
    assert trying.cancelled()


async def test_a_catch_up_ends_when_the_connection_is_closed_for_good_and_none_starts_after_close(
        log: EventLog, nats_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(CalendarSource, "CATCH_UP_WAIT", tenacity.wait_fixed(0.01))
    nc = await nats.connect(nats_url)
    gone = CalendarSource(EventLog(nc, log.subjects))
    await nc.close()  # as when nats-py gives up reconnecting: every request fails at once, for good
    await asyncio.wait_for(gone.catch_up(), timeout=10)  # ends, not tried for ever
    assert gone.reads == 0

    closed = CalendarSource(log)  # a reconnect between close() and the broker's stop
    await closed.close()
    await asyncio.wait_for(closed.catch_up(), timeout=10)
    assert closed.reads == 0, "no read after close()"
