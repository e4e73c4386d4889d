"""Builders of realistic envelopes and commits for tests."""

from __future__ import annotations

import datetime as dt
import uuid

from contracts.envelope import Commit, Envelope
from contracts.events import ApplicationReceived, BlockerRaised, CalendarPublished, DomainEvent
from contracts.types import GENESIS_HASH
from ledger.eventlog import Loaded, next_commit

T0 = dt.datetime(2026, 3, 2, 1, 30, tzinfo=dt.UTC)


def envelope(project_id: str, event: DomainEvent, *, at: dt.datetime = T0, source: str = "window") -> Envelope:
    return Envelope(event_id=str(uuid.uuid4()), project_id=project_id, occurred_at=at, actor="张科长",
                    source=source, correlation_id="corr-1", event=event)


def received(project_id: str, *, at: dt.datetime = T0) -> Envelope:
    return envelope(project_id, ApplicationReceived(
        name="黄边村城市更新项目", enterprise="广州某城市更新有限公司", district="白云区", track="new",
        project_kind="urban_renewal", station="鹤龙规划和自然资源所", initiated=True), at=at)


def blocker(project_id: str, n: int, *, at: dt.datetime = T0) -> Envelope:
    return envelope(project_id, BlockerRaised(
        blocker_id=f"b{n}", side="government", cause="land_reserve_unfinished", department="土地储备中心",
        due_on=dt.date(2026, 4, 30)), at=at)


def commit_after(loaded: Loaded, project_id: str, events: list[Envelope], commit_id: str | None = None) -> Commit:
    return next_commit(loaded, commit_id=commit_id or str(uuid.uuid4()), key=project_id, events=events)


def calendar(year: int, holidays: list[dt.date], workdays: list[dt.date] | None = None, *, at: dt.datetime = T0,
             commit_id: str | None = None) -> Commit:
    """The office publishing `year`'s calendar: the first commit of that year's key in the log."""
    cid = commit_id or f"cal-{year}"
    return Commit(commit_id=cid, kind="calendar", key=str(year), number=1, prev_hash=GENESIS_HASH,
                  events=[Envelope(event_id=f"e-{cid}", project_id=None, occurred_at=at, actor="办公室",
                                   source="operator", event=CalendarPublished(
                                       year=year, holidays=holidays, workdays=workdays or []))])


def calendar_2027(*, at: dt.datetime = T0) -> Commit:
    """The office publishing 2027's calendar, with Jan 1 a holiday."""
    return calendar(2027, [dt.date(2027, 1, 1)], at=at)
