"""Spec: on ApplicationReceived the stages service opens the track's first stage(s), once."""

from __future__ import annotations

from contracts import events as ev
from services.stages.domain import react
from tests.stages.given import CAL, POLICY, at, d, given, opened, received


def test_a_new_project_opens_site_selection_with_its_deadline() -> None:
    e = received()
    [o] = react(given(e), e, CAL, POLICY, clock=at("2026-09-25"))
    assert isinstance(o, ev.StageOpened)
    assert (o.stage, o.opened_on, o.due_on) == ("site_selection", d("2026-09-25"), d("2026-10-08"))


def test_a_continuing_project_opens_land_guarantee() -> None:
    e = received(track="continuing")
    [o] = react(given(e), e, CAL, POLICY, clock=at("2026-03-02"))
    assert isinstance(o, ev.StageOpened) and o.stage == "land_guarantee"


def test_first_stages_named_in_the_event_win_and_may_run_in_parallel() -> None:
    e = received(first_stages=["site_selection", "rural_permit"], missing_documents=["红线图"])
    out = react(given(e), e, CAL, POLICY, clock=at("2026-03-02"))
    assert [o.stage for o in out if isinstance(o, ev.StageOpened)] == ["site_selection", "rural_permit"]
    assert all(isinstance(o, ev.StageOpened) and o.documents_due_on == d("2026-03-09") for o in out)


def test_reacting_again_to_the_same_application_adds_nothing() -> None:
    e = received()
    assert react(given(e, opened("site_selection", "2026-03-02")), e, CAL, POLICY, clock=at("2026-03-03")) == []


def test_other_events_and_withdrawn_projects_cause_no_reaction() -> None:
    e = received()
    assert react(given(e), ev.ApplicationWithdrawn(reason="x"), CAL, POLICY, clock=at("2026-03-02")) == []
    withdrawn = given(e, ev.ApplicationWithdrawn(reason="x"))
    assert react(withdrawn, e, CAL, POLICY, clock=at("2026-03-02")) == []
