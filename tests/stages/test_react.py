"""Spec: on ApplicationReceived the stages service opens the track's first stage(s), once."""

from __future__ import annotations

import dataclasses

import pytest

from contracts import events as ev
from services.stages.domain import react
from services.stages.policy import PolicyError
from services.stages.react import first_stages_of
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


def test_no_policy_lacks_a_track_however_it_is_built() -> None:
    # A track without first stages would leave the reaction to an application on it nothing to open;
    # the Policy itself refuses to exist without one (load_policy's files and hand-built ones alike).
    with pytest.raises(PolicyError, match=r"'tracks.continuing' is missing: every track \(new, continuing\)"):
        dataclasses.replace(POLICY, tracks={"new": POLICY.tracks["new"]})
    assert first_stages_of(received(track="continuing", first_stages=["land_guarantee"]), POLICY) == ("land_guarantee",)


def test_a_stage_opened_by_hand_and_returned_before_the_reaction_is_not_reopened_by_it() -> None:
    # The reaction runs late (its consumer lagged): meanwhile site_selection was opened by hand and
    # returned. Re-opening it would undo the return, with opened_on the day of acceptance.
    e = received()
    returned = ev.StageReturned(stage="site_selection", returned_on=d("2026-03-03"), reason="红线图不全")
    state = given(e, opened("site_selection", "2026-03-02"), returned)
    assert react(state, e, CAL, POLICY, clock=at("2026-03-02")) == []


def test_the_reaction_still_opens_the_first_stages_that_were_not_returned() -> None:
    e = received(first_stages=["site_selection", "rural_permit"])
    returned = ev.StageReturned(stage="site_selection", returned_on=d("2026-03-03"), reason="红线图不全")
    out = react(given(e, opened("site_selection", "2026-03-02"), returned), e, CAL, POLICY, clock=at("2026-03-02"))
    assert [o.stage for o in out if isinstance(o, ev.StageOpened)] == ["rural_permit"]


def test_no_policy_has_a_track_or_kind_with_no_first_stage() -> None:
    new = POLICY.tracks["new"]
    with pytest.raises(PolicyError, match=r"'tracks.new.first_stages' is empty"):
        dataclasses.replace(POLICY, tracks={**POLICY.tracks, "new": dataclasses.replace(new, first_stages=())})
    with pytest.raises(PolicyError, match=r"'tracks.new.first_stages_by_kind.rural' is empty"):
        dataclasses.replace(POLICY, tracks={**POLICY.tracks, "new": dataclasses.replace(
            new, first_stages_by_kind={**new.first_stages_by_kind, "rural": ()})})
