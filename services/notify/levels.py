"""When each alert level of a deadline fires: working days of the official calendar, at the policy's local time."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from ledger.clock import BUREAU_TZ
from ledger.workdays import UnknownYear, WorkingCalendar
from services.notify.deadlines import Deadline
from services.notify.policy import AlertPolicy

LEVELS = ("yellow", "red", "overdue", "escalation")
RANK = {level: n for n, level in enumerate(LEVELS)}


@dataclass(frozen=True)
class Planned:
    level: str
    fire_on: dt.date
    fire_at: dt.datetime


def _on_or_before_working(calendar: WorkingCalendar, day: dt.date) -> dt.date:
    while not calendar.is_working_day(day):
        day -= dt.timedelta(days=1)
    return day


def _yellow_day(d: Deadline, calendar: WorkingCalendar, policy: AlertPolicy) -> dt.date | None:
    """The working day `before` working days ahead of the due day, counted back from it (so a suspension,
    which moves the due day, moves the warning too); the share rule asks for the remaining share of the limit."""
    before = policy.yellow_days_before
    if policy.yellow_share and d.limit_days:
        before = max(before, d.limit_days - math.ceil(d.limit_days * policy.yellow_share))
    if before < 1:
        return None
    left = calendar.working_days_between(d.opened_on, d.due_on) - before
    return calendar.add_working_days(d.opened_on, left) if left >= 1 else None


def plan(d: Deadline, calendar: WorkingCalendar, policy: AlertPolicy) -> list[Planned]:
    """Every level of an open deadline with its fire instant; [] when suspended or closed.

    Raises UnknownYear when a level falls in a year without a published calendar: the caller plans
    the levels it can and leaves the rest to a later calendar publication.
    """
    if d.status != "open":
        return []
    days: list[tuple[str, dt.date]] = []
    yellow = _yellow_day(d, calendar, policy)
    if yellow is not None:
        days.append(("yellow", yellow))
    # A due day on a rest day (e.g. a blocker's date chosen by hand) warns on the last working day before it.
    red = _on_or_before_working(calendar, d.due_on)
    days.append(("red", red))
    try:
        overdue = calendar.add_working_days(d.due_on, policy.overdue_after_days)
        days.append(("overdue", overdue))
        days.append(("escalation", calendar.add_working_days(overdue, policy.escalate_after_days)))
    except UnknownYear:
        pass
    return [Planned(level, day, fire_instant(day, policy)) for level, day in days]


def fire_instant(day: dt.date, policy: AlertPolicy) -> dt.datetime:
    return dt.datetime.combine(day, policy.fire_time, tzinfo=BUREAU_TZ).astimezone(dt.UTC)
