"""Spec: opening, passing and returning stages; parallel approval and issuing together."""

from __future__ import annotations

import dataclasses

from contracts import commands as cmd
from contracts import events as ev
from contracts.events import Document
from services.stages.policy import Policy
from tests.stages.given import CAL, NEW_AFTER_SITE, POLICY, d, given, opened, passed, received, refused, when


def test_opening_a_stage_records_its_due_date_limit_rule_and_calendar() -> None:
    [e] = when(given(received()), cmd.OpenStage(stage="site_selection"), "2026-03-02")
    assert e == ev.StageOpened(
        stage="site_selection", department="规划选址科", opened_on=d("2026-03-02"), limit_days=4,
        statutory_days=30, due_on=d("2026-03-06"),
        rule="committed limit 4 working days (statutory 30), acceptance day not counted",
        calendar_version=CAL.version,
    )


def test_a_stage_opened_before_national_day_is_due_after_it() -> None:
    [e] = when(given(received()), cmd.OpenStage(stage="site_selection"), "2026-09-30")
    assert isinstance(e, ev.StageOpened) and e.due_on == d("2026-10-12")


def test_a_non_statutory_item_is_due_the_same_day() -> None:
    [e] = when(given(*NEW_AFTER_SITE), cmd.OpenStage(stage="planning_conditions"), "2026-03-05")
    assert isinstance(e, ev.StageOpened)
    assert (e.due_on, e.limit_days, e.parallel_group) == (d("2026-03-05"), 0, "land_preparation")
    assert e.rule.startswith("non-statutory item: done the same day")


def test_opening_an_unknown_stage_is_an_invalid_field() -> None:
    r = refused(given(received()), cmd.OpenStage(stage="demolition"), "2026-03-02")
    assert (r.code, r.field) == ("invalid_field", "stage")
    assert "unknown stage 'demolition'" in r.message


def test_a_stage_of_the_other_track_cannot_open() -> None:
    r = refused(given(received()), cmd.OpenStage(stage="land_guarantee"), "2026-03-02")
    assert (r.code, r.message) == ("rule_violation", "stage land_guarantee is not on the new track")


def test_a_stage_cannot_open_twice() -> None:
    r = refused(given(received(), opened("site_selection", "2026-03-02")),
                cmd.OpenStage(stage="site_selection"), "2026-03-03")
    assert r.message == "stage site_selection is already open (since 2026-03-02)"


def test_a_passed_stage_cannot_open_again() -> None:
    r = refused(given(*NEW_AFTER_SITE), cmd.OpenStage(stage="site_selection"), "2026-03-05")
    assert r.message == "stage site_selection already passed on 2026-03-04"


def test_a_stage_cannot_open_before_its_prerequisites_pass() -> None:
    r = refused(given(received()), cmd.OpenStage(stage="land_supply"), "2026-03-02")
    assert (r.code, r.message) == ("rule_violation", "stage land_supply cannot open: site_selection has not passed")


def test_parallel_approval_runs_land_supply_while_land_approval_is_open() -> None:
    s = given(*NEW_AFTER_SITE, opened("land_use_approval", "2026-03-05"), opened("land_supply", "2026-03-05"))
    assert set(s.open_stages) == {"land_use_approval", "land_supply"}
    r = refused(s, cmd.PassStage(stage="land_supply"), "2026-03-06")
    assert r.message == "stage land_supply cannot pass: land_use_approval is still open"


def test_a_stage_cannot_pass_while_a_prerequisite_has_not_even_opened() -> None:
    s = given(*NEW_AFTER_SITE, passed("planning_conditions", "2026-03-05"), opened("land_supply", "2026-03-05"))
    r = refused(s, cmd.PassStage(stage="land_supply"), "2026-03-06")
    assert r.message == "stage land_supply cannot pass: land_use_approval has not passed"


def test_passing_before_the_due_date_is_early_and_on_time() -> None:
    [e] = when(given(received(), opened("site_selection", "2026-03-02")),
               cmd.PassStage(stage="site_selection", report_ref="R-1"), "2026-03-05")
    assert e == ev.StagePassed(stage="site_selection", passed_on=d("2026-03-05"), working_days_used=3,
                               on_time=True, early=True, report_ref="R-1")


def test_passing_on_the_due_date_is_on_time_but_not_early() -> None:
    [e] = when(given(received(), opened("site_selection", "2026-03-02")),
               cmd.PassStage(stage="site_selection"), "2026-03-06")
    assert isinstance(e, ev.StagePassed) and (e.working_days_used, e.on_time, e.early) == (4, True, False)


def test_passing_after_the_due_date_is_late() -> None:
    [e] = when(given(received(), opened("site_selection", "2026-03-02")),
               cmd.PassStage(stage="site_selection"), "2026-03-09")
    assert isinstance(e, ev.StagePassed) and (e.working_days_used, e.on_time, e.early) == (5, False, False)


def test_a_same_day_item_passed_the_same_day_is_on_time() -> None:
    s = given(*NEW_AFTER_SITE, opened("planning_conditions", "2026-03-05"))
    [e] = when(s, cmd.PassStage(stage="planning_conditions"), "2026-03-05")
    assert isinstance(e, ev.StagePassed) and (e.working_days_used, e.on_time, e.early) == (0, True, False)


def test_passing_records_the_document_it_produces() -> None:
    doc = Document(kind="site_selection_opinion", number="选字第2026-001号", land_area_m2=12000.0)
    [e] = when(given(received(), opened("site_selection", "2026-03-02")),
               cmd.PassStage(stage="site_selection", document=doc), "2026-03-04")
    assert isinstance(e, ev.StagePassed) and e.document == doc


def test_a_document_of_another_kind_is_an_invalid_field() -> None:
    r = refused(given(received(), opened("site_selection", "2026-03-02")),
                cmd.PassStage(stage="site_selection", document=Document(kind="rural_planning_permit")),
                "2026-03-04")
    assert (r.code, r.field) == ("invalid_field", "document.kind")
    assert r.message == "stage site_selection produces site_selection_opinion, not rural_planning_permit"


def test_a_stage_that_is_not_open_cannot_pass() -> None:
    r = refused(given(*NEW_AFTER_SITE), cmd.PassStage(stage="planning_permit"), "2026-03-05")
    assert (r.code, r.message, r.field) == ("rule_violation", "stage planning_permit is not open", "stage")


def test_a_stage_cannot_pass_twice() -> None:
    r = refused(given(*NEW_AFTER_SITE), cmd.PassStage(stage="site_selection"), "2026-03-05")
    assert r.message == "stage site_selection is not open (it passed on 2026-03-04)"


def test_a_stage_cannot_pass_on_a_day_before_it_opened() -> None:
    r = refused(given(received(), opened("site_selection", "2026-03-02")),
                cmd.PassStage(stage="site_selection"), "2026-02-27")
    assert r.message == "stage site_selection cannot pass on 2026-02-27: it opened on 2026-03-02"


def _five_permits() -> Policy:
    stages = dict(POLICY.stages)
    for code in ("land_supply", "planning_permit"):
        stages[code] = dataclasses.replace(stages[code], issue_together="five_permits")
    return dataclasses.replace(POLICY, stages=stages)


def test_stages_issued_together_pass_in_one_command() -> None:
    policy = _five_permits()
    s = given(*NEW_AFTER_SITE, passed("land_use_approval", "2026-03-10"), passed("planning_conditions", "2026-03-05"),
              opened("land_supply", "2026-03-10", policy=policy),
              opened("planning_permit", "2026-03-10", policy=policy))
    doc = Document(kind="land_use_planning_permit")
    events = when(s, cmd.PassStage(stage="land_supply", document=doc), "2026-03-12", policy=policy)
    assert [(type(e).__name__, getattr(e, "stage", None)) for e in events] == [
        ("StagePassed", "land_supply"), ("StagePassed", "planning_permit")]
    assert isinstance(events[0], ev.StagePassed) and events[0].document == doc
    assert isinstance(events[1], ev.StagePassed) and events[1].document is None


def test_a_stage_issued_together_cannot_pass_alone() -> None:
    policy = _five_permits()
    s = given(*NEW_AFTER_SITE, passed("land_use_approval", "2026-03-10"), passed("planning_conditions", "2026-03-05"),
              opened("land_supply", "2026-03-10", policy=policy))
    r = refused(s, cmd.PassStage(stage="land_supply"), "2026-03-12", policy=policy)
    assert r.message == "stage land_supply cannot pass: it is issued together with planning_permit, which is not open"


def test_returning_a_stage_closes_it_and_it_may_open_again() -> None:
    s = given(received(), opened("site_selection", "2026-03-02"))
    [e] = when(s, cmd.ReturnStage(stage="site_selection", reason="红线图不全"), "2026-03-03")
    assert e == ev.StageReturned(stage="site_selection", returned_on=d("2026-03-03"), reason="红线图不全")
    [again] = when(given(received(), opened("site_selection", "2026-03-02"), e),
                   cmd.OpenStage(stage="site_selection"), "2026-03-10")
    assert isinstance(again, ev.StageOpened) and again.due_on == d("2026-03-16")


def test_a_return_needs_a_reason() -> None:
    r = refused(given(received(), opened("site_selection", "2026-03-02")),
                cmd.ReturnStage(stage="site_selection", reason=" "), "2026-03-03")
    assert (r.code, r.field) == ("invalid_field", "reason")


def test_a_stage_that_is_not_open_cannot_be_returned() -> None:
    r = refused(given(received()), cmd.ReturnStage(stage="site_selection", reason="x"), "2026-03-03")
    assert r.message == "stage site_selection is not open"


def test_a_deadline_in_a_year_without_a_calendar_is_refused() -> None:
    r = refused(given(*NEW_AFTER_SITE), cmd.OpenStage(stage="land_use_approval"), "2026-12-20")
    assert r.code == "rule_violation"
    assert r.message.startswith("no official working-day calendar for 2027")
