"""Spec: suspending and resuming the clock (days that do not count), and extending deadlines."""

from __future__ import annotations

from contracts import commands as cmd
from contracts import events as ev
from tests.stages.given import d, given, opened, received, refused, when

# site_selection opened Mon 2026-09-28, limit 4: 09-29, 09-30, 10-08, 10-09 -> due Fri 2026-10-09.
OPEN = (received(), opened("site_selection", "2026-09-28"))
SUSPENDED = (*OPEN, ev.ClockSuspended(stage="site_selection", reason="expert_review", suspended_on=d("2026-09-29")))


def test_the_first_stage_is_due_after_the_national_day_holiday() -> None:
    assert given(*OPEN).open_stages["site_selection"].due_on == d("2026-10-09")


def test_suspending_the_clock_records_the_reason_and_day() -> None:
    [e] = when(given(*OPEN), cmd.SuspendClock(stage="site_selection", reason="expert_review", note="专家论证"),
               "2026-09-29")
    assert e == ev.ClockSuspended(stage="site_selection", reason="expert_review", suspended_on=d("2026-09-29"),
                                  note="专家论证")


def test_a_suspended_clock_cannot_be_suspended_again() -> None:
    r = refused(given(*SUSPENDED), cmd.SuspendClock(stage="site_selection", reason="public_notice"), "2026-09-30")
    assert r.message == "the clock of stage site_selection is already suspended (expert_review since 2026-09-29)"


def test_a_clock_of_a_stage_that_is_not_open_cannot_be_suspended() -> None:
    r = refused(given(received()), cmd.SuspendClock(stage="site_selection", reason="expert_review"), "2026-09-29")
    assert r.message == "stage site_selection is not open"


def test_resuming_across_national_day_recomputes_the_due_date_from_the_days_left() -> None:
    # Stopped 09-29 with 3 days left (09-30, 10-08, 10-09); resumed Mon 10-12 after 5 suspended
    # working days (09-30, 10-08, 10-09, make-up 10-10, 10-12): 3 days after 10-12 is 10-15.
    [e] = when(given(*SUSPENDED), cmd.ResumeClock(stage="site_selection"), "2026-10-12")
    assert isinstance(e, ev.ClockResumed)
    assert (e.suspended_working_days, e.remaining_days, e.due_on) == (5, 3, d("2026-10-15"))
    assert "3 working days were left" in e.rule


def test_suspended_days_do_not_count_as_days_used() -> None:
    [resumed] = when(given(*SUSPENDED), cmd.ResumeClock(stage="site_selection"), "2026-10-12")
    s = given(*SUSPENDED, resumed)
    assert s.open_stages["site_selection"].suspended_days == 5
    [e] = when(s, cmd.PassStage(stage="site_selection"), "2026-10-15")
    assert isinstance(e, ev.StagePassed)
    assert (e.working_days_used, e.suspended_days, e.on_time, e.early) == (4, 5, True, False)


def test_passing_a_suspended_stage_resumes_its_clock_first() -> None:
    events = when(given(*SUSPENDED), cmd.PassStage(stage="site_selection"), "2026-10-12")
    assert [type(e).__name__ for e in events] == ["ClockResumed", "StagePassed"]
    p = events[1]
    assert isinstance(p, ev.StagePassed) and (p.working_days_used, p.suspended_days, p.early) == (1, 5, True)


def test_returning_a_suspended_stage_resumes_its_clock_first() -> None:
    events = when(given(*SUSPENDED), cmd.ReturnStage(stage="site_selection", reason="补正未完成"), "2026-10-12")
    assert [type(e).__name__ for e in events] == ["ClockResumed", "StageReturned"]


def test_a_clock_that_is_running_cannot_resume() -> None:
    r = refused(given(*OPEN), cmd.ResumeClock(stage="site_selection"), "2026-09-30")
    assert (r.code, r.message) == ("rule_violation", "the clock of stage site_selection is not suspended")


def test_a_clock_cannot_resume_before_it_stopped() -> None:
    s = given(*OPEN, ev.ClockSuspended(stage="site_selection", reason="public_notice", suspended_on=d("2026-09-30")))
    r = refused(s, cmd.ResumeClock(stage="site_selection"), "2026-09-29")
    assert r.message == "stage site_selection cannot resume on 2026-09-29: its clock stopped on 2026-09-30"


def test_a_stage_already_overdue_when_suspended_keeps_its_delay() -> None:
    # Due 10-09, stopped 10-13 (3 days late: make-up 10-10, 10-12, 10-13), resumed 10-15 after 2
    # suspended days (10-14, 10-15): the due date moves 2 working days, to 10-12, still in the past.
    s = given(*OPEN, ev.ClockSuspended(stage="site_selection", reason="applicant_correction",
                                        suspended_on=d("2026-10-13")))
    [e] = when(s, cmd.ResumeClock(stage="site_selection"), "2026-10-15")
    assert isinstance(e, ev.ClockResumed) and (e.remaining_days, e.due_on) == (0, d("2026-10-12"))


def test_extending_moves_the_due_date_by_working_days() -> None:
    [e] = when(given(*OPEN), cmd.ExtendDeadline(stage="site_selection", extra_days=2, approved_by="分管局领导",
                                                reason="需补充论证"), "2026-10-08")
    assert e == ev.DeadlineExtended(stage="site_selection", extra_days=2, approved_by="分管局领导",
                                    reason="需补充论证", due_on=d("2026-10-12"))


def test_an_extended_stage_is_on_time_within_its_extended_limit() -> None:
    s = given(*OPEN, ev.DeadlineExtended(stage="site_selection", extra_days=2, approved_by="局长", reason="",
                                         due_on=d("2026-10-12")))
    [e] = when(s, cmd.PassStage(stage="site_selection"), "2026-10-12")
    assert isinstance(e, ev.StagePassed) and (e.working_days_used, e.on_time) == (6, True)


def test_extensions_are_capped_by_policy_in_total() -> None:
    s = given(*OPEN, ev.DeadlineExtended(stage="site_selection", extra_days=8, approved_by="局长", reason="",
                                         due_on=d("2026-10-21")))
    r = refused(s, cmd.ExtendDeadline(stage="site_selection", extra_days=3, approved_by="局长", reason=""),
                "2026-10-09")
    assert (r.code, r.field) == ("rule_violation", "extra_days")
    assert r.message == ("the deadline of stage site_selection can be extended by at most 10 working days "
                         "in total (8 already granted, 3 requested)")


def test_an_extension_needs_days_and_an_approver() -> None:
    r = refused(given(*OPEN), cmd.ExtendDeadline(stage="site_selection", extra_days=0, approved_by="局长",
                                                 reason=""), "2026-10-08")
    assert (r.code, r.field) == ("invalid_field", "extra_days")
    r = refused(given(*OPEN), cmd.ExtendDeadline(stage="site_selection", extra_days=1, approved_by=" ",
                                                 reason=""), "2026-10-08")
    assert (r.code, r.field) == ("invalid_field", "approved_by")


def test_a_clock_of_a_stage_that_is_not_open_cannot_resume() -> None:
    r = refused(given(received()), cmd.ResumeClock(stage="site_selection"), "2026-09-30")
    assert r.message == "stage site_selection is not open"


def test_the_deadline_of_an_unknown_stage_cannot_be_extended() -> None:
    r = refused(given(*OPEN), cmd.ExtendDeadline(stage="demolition", extra_days=1, approved_by="局长", reason=""),
                "2026-10-08")
    assert (r.code, r.field) == ("invalid_field", "stage")


# Stopped 09-29, resumed 10-12 after 5 suspended working days: due 10-15 (see above).
RESUMED = (*SUSPENDED, ev.ClockResumed(stage="site_selection", resumed_on=d("2026-10-12"), suspended_working_days=5,
                                       remaining_days=3, due_on=d("2026-10-15"), rule=""))


def test_a_suspension_back_dated_into_an_earlier_one_is_refused_so_no_day_counts_twice() -> None:
    # 10-08 lies inside the suspension 09-29..10-12, whose 5 days are already counted: suspending
    # again from 10-08 would count 10-09, 10-10 and 10-12 a second time.
    for day in ("2026-10-08", "2026-09-28"):
        r = refused(given(*RESUMED), cmd.SuspendClock(stage="site_selection", reason="public_notice"), day)
        assert (r.code, r.field) == ("rule_violation", "occurred_at")
        assert r.message == f"stage site_selection cannot be suspended on {day}: its clock resumed on 2026-10-12"


def test_a_second_suspension_from_the_resumption_day_counts_only_its_own_days() -> None:
    [again] = when(given(*RESUMED), cmd.SuspendClock(stage="site_selection", reason="public_notice"), "2026-10-12")
    assert isinstance(again, ev.ClockSuspended) and again.suspended_on == d("2026-10-12")
    [resumed] = when(given(*RESUMED, again), cmd.ResumeClock(stage="site_selection"), "2026-10-14")
    # (10-12, 10-14]: 10-13 and 10-14; the 3 days left on 10-12 are counted after 10-14.
    assert isinstance(resumed, ev.ClockResumed)
    assert (resumed.suspended_working_days, resumed.due_on) == (2, d("2026-10-19"))
    run = given(*RESUMED, again, resumed).open_stages["site_selection"]
    assert (run.suspended_days, run.resumed_on) == (5 + 2, d("2026-10-14"))


def test_a_late_report_of_a_pass_or_return_dated_before_the_clock_stopped_counts_no_suspended_day() -> None:
    # Stopped 09-29 by the window; the permit system reports, later, that the stage passed on 09-28 (the
    # contract allows late reports with the real occurred_at). The suspension did not delay it: 0 days.
    resumed, passed = when(given(*SUSPENDED), cmd.PassStage(stage="site_selection"), "2026-09-28")
    assert isinstance(resumed, ev.ClockResumed) and resumed.suspended_working_days == 0
    assert isinstance(passed, ev.StagePassed)
    assert (passed.passed_on, passed.working_days_used, passed.suspended_days) == (d("2026-09-28"), 0, 0)
    resumed, returned = when(given(*SUSPENDED), cmd.ReturnStage(stage="site_selection", reason="补正未完成"),
                             "2026-09-28")
    assert isinstance(resumed, ev.ClockResumed) and resumed.suspended_working_days == 0
    assert isinstance(returned, ev.StageReturned) and returned.returned_on == d("2026-09-28")


def test_a_suspended_stage_passes_on_the_day_its_clock_stopped() -> None:
    events = when(given(*SUSPENDED), cmd.PassStage(stage="site_selection"), "2026-09-29")
    assert [type(e).__name__ for e in events] == ["ClockResumed", "StagePassed"]
    p = events[1]
    assert isinstance(p, ev.StagePassed) and (p.working_days_used, p.suspended_days) == (1, 0)


def test_a_stage_cannot_pass_or_be_returned_on_a_day_before_its_clock_resumed() -> None:
    # The 5 suspended days up to 10-12 would be subtracted from the 3 days used by 10-08.
    r = refused(given(*RESUMED), cmd.PassStage(stage="site_selection"), "2026-10-08")
    assert (r.field, r.message) == (
        "occurred_at", "stage site_selection cannot pass on 2026-10-08: its clock resumed on 2026-10-12")
    r = refused(given(*RESUMED), cmd.ReturnStage(stage="site_selection", reason="x"), "2026-10-08")
    assert r.field == "occurred_at"
