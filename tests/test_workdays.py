"""The working-day calendar: a hand-checked deadline table, refusals, and consistency properties."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.workdays import BASE_VERSION, CalendarError, UnknownYear, WorkingCalendar

CAL = WorkingCalendar.default()
D = dt.date.fromisoformat

# (start, working days, due, why) — each counted by hand against the State Council notices.
DEADLINES = [
    ("2026-09-25", 30, "2026-11-12", "start on Mid-Autumn holiday, over National Day and make-up 10-10"),
    ("2025-03-07", 1, "2025-03-10", "1 working day after a Friday is the next Monday"),
    ("2025-03-08", 1, "2025-03-10", "a Saturday start counts from Monday"),
    ("2025-03-05", 4, "2025-03-11", "committed 4 days over a plain weekend"),
    ("2025-01-27", 1, "2025-02-05", "Spring Festival 2025 (01-28..02-04) skipped"),
    ("2025-01-24", 4, "2025-02-06", "make-up Sunday 01-26 counts, Spring Festival does not"),
    ("2025-01-26", 1, "2025-01-27", "start on a make-up Sunday"),
    ("2025-02-07", 1, "2025-02-08", "make-up Saturday 02-08 is a working day"),
    ("2025-02-08", 1, "2025-02-10", "start on a make-up Saturday"),
    ("2025-09-27", 1, "2025-09-28", "ordinary Saturday start, next day is make-up Sunday"),
    ("2025-09-30", 1, "2025-10-09", "National Day 2025 (10-01..10-08) skipped"),
    ("2025-09-30", 4, "2025-10-13", "make-up Saturday 10-11 counts"),
    ("2025-10-03", 6, "2025-10-15", "start inside the National Day holiday"),
    ("2025-12-31", 1, "2026-01-04", "New Year 2026 skipped, make-up Sunday 01-04 counts"),
    ("2025-12-31", 2, "2026-01-05", "across the year boundary"),
    ("2026-02-13", 1, "2026-02-14", "make-up Saturday before Spring Festival 2026"),
    ("2026-02-13", 6, "2026-02-28", "Spring Festival 2026 (02-15..02-23), both make-up Saturdays"),
    ("2026-02-16", 4, "2026-02-27", "start on Spring Festival holiday"),
    ("2026-02-12", 30, "2026-04-01", "statutory 30 days over Spring Festival 2026"),
    ("2026-04-03", 1, "2026-04-07", "Qingming 2026 (04-04..04-06)"),
    ("2026-04-30", 4, "2026-05-09", "Labour Day 2026, make-up Saturday 05-09"),
    ("2026-06-18", 1, "2026-06-22", "Dragon Boat 2026 (06-19..06-21)"),
    ("2026-09-19", 1, "2026-09-20", "make-up Sunday 09-20 before Mid-Autumn"),
    ("2026-09-30", 6, "2026-10-14", "engineering permit over National Day 2026"),
    ("2026-10-10", 4, "2026-10-15", "start on make-up Saturday 10-10"),
    ("2026-09-28", 20, "2026-10-30", "rural permit statutory 20 days over National Day"),
    ("2025-04-25", 2, "2025-04-28", "make-up Sunday 04-27 before Labour Day 2025"),
    ("2025-05-30", 1, "2025-06-03", "Dragon Boat 2025 (05-31..06-02)"),
    ("2025-04-30", 1, "2025-05-06", "Labour Day 2025 (05-01..05-05)"),
    ("2025-03-08", 0, "2025-03-08", "0 days: due the day it is accepted, even a Saturday"),
]


@pytest.mark.parametrize(("start", "n", "due", "why"), DEADLINES, ids=[c[3] for c in DEADLINES])
def test_deadline_is_the_nth_working_day_after_the_acceptance_day(start: str, n: int, due: str, why: str) -> None:
    assert CAL.add_working_days(D(start), n) == D(due)
    if n:
        assert CAL.working_days_between(D(start), D(due)) == n


def test_make_up_weekend_days_work_and_weekday_holidays_do_not() -> None:
    assert CAL.is_working_day(D("2026-02-14"))
    assert not CAL.is_working_day(D("2026-02-16"))
    assert not CAL.is_working_day(D("2026-03-07"))
    assert CAL.is_working_day(D("2026-03-09"))


def test_working_days_between_counts_the_half_open_interval() -> None:
    assert CAL.working_days_between(D("2025-09-30"), D("2025-10-08")) == 0
    assert CAL.working_days_between(D("2026-03-02"), D("2026-03-02")) == 0
    assert CAL.working_days_between(D("2026-03-06"), D("2026-03-02")) == -4


def test_known_years_are_the_packaged_ones_and_version_names_the_package() -> None:
    assert CAL.known_years[0] == 2004 and CAL.known_years[-1] == 2026
    assert CAL.version == BASE_VERSION and BASE_VERSION.startswith("chinesecalendar-")


def test_a_date_in_an_unknown_year_is_refused_not_guessed() -> None:
    with pytest.raises(UnknownYear) as info:
        CAL.is_working_day(D("2027-01-04"))
    assert info.value.year == 2027
    assert str(info.value) == (
        "no official working-day calendar for 2027: publish it with `ledger calendar publish FILE`")


def test_a_deadline_running_into_an_unknown_year_is_refused() -> None:
    with pytest.raises(UnknownYear, match="2027"):
        CAL.add_working_days(D("2026-12-10"), 30)
    with pytest.raises(UnknownYear, match="2027"):
        CAL.working_days_between(D("2026-12-10"), D("2027-01-10"))
    with pytest.raises(UnknownYear, match="2003"):
        CAL.add_working_days(D("2003-12-31"), 1)


def test_a_published_year_extends_the_calendar_and_its_version() -> None:
    cal = CAL.with_year(2027, [D("2027-01-01"), D("2027-02-08")], [D("2027-02-06")], revision=42)
    assert cal.version == f"{BASE_VERSION}+2027@42"
    assert 2027 in cal.known_years and 2027 not in CAL.known_years
    assert cal.is_working_day(D("2027-02-06")) and not cal.is_working_day(D("2027-02-08"))
    assert cal.add_working_days(D("2026-12-31"), 1) == D("2027-01-04")


def test_a_year_cannot_be_jumped_over_when_a_later_one_is_published() -> None:
    cal = CAL.with_year(2028, [], [])
    with pytest.raises(UnknownYear, match="2027"):
        cal.add_working_days(D("2026-12-30"), 5)


@pytest.mark.parametrize(
    ("holidays", "workdays", "message"),
    [
        (["2028-01-01"], [], "not in 2027"),
        (["2027-02-06"], ["2027-02-06"], "both as a holiday and as a workday"),
        ([], ["2027-02-08"], "is a weekday"),
    ],
)
def test_an_inconsistent_published_year_is_refused(holidays: list[str], workdays: list[str], message: str) -> None:
    with pytest.raises(CalendarError, match=message):
        CAL.with_year(2027, [D(h) for h in holidays], [D(w) for w in workdays])


def test_republishing_a_known_year_needs_the_correction_flag() -> None:
    with pytest.raises(CalendarError, match="already holds 2026"):
        CAL.with_year(2026, [], [])
    fixed = CAL.with_year(2026, [D("2026-03-02")], [], correction=True, revision=7)
    assert not fixed.is_working_day(D("2026-03-02")) and fixed.version.endswith("+2026@7")


dates = st.dates(min_value=dt.date(2004, 1, 1), max_value=dt.date(2026, 6, 30))


@settings(max_examples=300, deadline=None)
@given(start=dates, n=st.integers(min_value=0, max_value=120))
def test_counting_back_the_days_added_gives_the_same_number(start: dt.date, n: int) -> None:
    due = CAL.add_working_days(start, n)
    assert CAL.working_days_between(start, due) == n
    if n:
        assert due > start and CAL.is_working_day(due)


@settings(max_examples=300, deadline=None)
@given(start=dates, end=dates)
def test_adding_the_days_between_lands_on_the_last_working_day_up_to_end(start: dt.date, end: dt.date) -> None:
    k = CAL.working_days_between(start, end)
    assert k == -CAL.working_days_between(end, start)
    if k > 0:
        due = CAL.add_working_days(start, k)
        assert due <= end
        assert CAL.working_days_between(due, end) == 0


def test_every_packaged_day_agrees_with_chinesecalendar() -> None:
    import chinese_calendar

    day, last = dt.date(2004, 1, 1), dt.date(2026, 12, 31)
    while day <= last:
        assert CAL.is_working_day(day) == chinese_calendar.is_workday(day), day
        day += dt.timedelta(days=1)
