"""Spec: the fold copies recorded facts and tolerates events it does not track."""

from __future__ import annotations

import datetime as dt

from contracts import events as ev
from tests.stages.given import d, given, opened, received


def test_replay_keeps_the_recorded_due_date_even_if_the_calendar_would_now_say_otherwise() -> None:
    recorded = ev.StageOpened(stage="site_selection", department="规划选址科", opened_on=d("2026-03-02"),
                              limit_days=4, statutory_days=30, due_on=d("2026-03-20"), rule="old rule",
                              calendar_version="chinesecalendar-1.0.0")
    run = given(received(), recorded).open_stages["site_selection"]
    assert (run.due_on, run.rule, run.calendar_version) == (d("2026-03-20"), "old rule", "chinesecalendar-1.0.0")


def test_a_project_is_received_with_its_facts() -> None:
    s = given(received(initiated=True, project_kind="industrial"))
    assert (s.exists, s.track, s.initiated, s.project_kind, s.withdrawn) == (True, "new", True, "industrial", False)


def test_alerts_and_calendars_do_not_change_the_project() -> None:
    base = given(received(), opened("site_selection", "2026-03-02"))
    after = given(
        received(), opened("site_selection", "2026-03-02"),
        ev.AlertSent(alert_key="k", deadline_kind="stage", deadline_ref="site_selection", level="yellow",
                     due_on=d("2026-03-06"), channel="wecom", recipient="张科长",
                     sent_at=dt.datetime(2026, 3, 5, tzinfo=dt.UTC)),
        ev.CalendarPublished(year=2027, holidays=[], workdays=[]),
    )
    assert after.open_stages == base.open_stages and after.event_count == base.event_count + 2


def test_events_about_stages_never_opened_are_tolerated() -> None:
    s = given(received(),
              ev.ClockSuspended(stage="land_supply", reason="expert_review", suspended_on=d("2026-03-02")),
              ev.ClockResumed(stage="land_supply", resumed_on=d("2026-03-03"), suspended_working_days=1,
                              remaining_days=1, due_on=d("2026-03-04"), rule=""),
              ev.DeadlineExtended(stage="land_supply", extra_days=1, approved_by="x", reason="",
                                  due_on=d("2026-03-05")),
              ev.BlockerUpdated(blocker_id="nope", goal="x"),
              ev.BlockerResolved(blocker_id="nope", resolved_on=d("2026-03-05")))
    assert s.open_stages == {} and s.blockers == {}


def test_a_passed_stage_keeps_its_opening_and_due_dates() -> None:
    s = given(received(), opened("site_selection", "2026-03-02"),
              ev.StagePassed(stage="site_selection", passed_on=d("2026-03-05"), working_days_used=3,
                             on_time=True, early=True))
    p = s.passed["site_selection"]
    assert (p.opened_on, p.due_on, p.passed_on, p.early) == (d("2026-03-02"), d("2026-03-06"), d("2026-03-05"), True)
    assert "site_selection" not in s.open_stages
