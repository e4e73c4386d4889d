"""Spec: raising, updating and resolving blockers (症结), government and enterprise side."""

from __future__ import annotations

import dataclasses
import datetime as dt

import msgspec
import pytest

from contracts import commands as cmd
from contracts import events as ev
from services.stages.policy import DEFAULT_POLICY_PATH, PolicyError, parse_policy_text
from tests.stages.given import NEW_AFTER_SITE, POLICY, d, given, opened, received, refused, when

RAISED = ev.BlockerRaised(blocker_id="b1", side="government", cause="land_not_cleared", department="土地储备中心",
                          due_on=d("2026-04-30"), goal="完成净地移交")


def raise_(**kw: object) -> cmd.RaiseBlocker:
    fields: dict[str, object] = {"blocker_id": "b1", "side": "government", "cause": "land_not_cleared",
                                 "department": "土地储备中心", "due_on": d("2026-04-30")}
    fields.update(kw)
    return cmd.RaiseBlocker(**fields)  # type: ignore[arg-type]


def test_a_government_blocker_is_raised_with_its_department_and_due_date() -> None:
    [e] = when(given(received()), raise_(goal="完成净地移交", responsible_person="张科长"), "2026-03-02")
    assert isinstance(e, ev.BlockerRaised)
    assert (e.department, e.due_on, e.responsible_person) == ("土地储备中心", d("2026-04-30"), "张科长")


def test_a_government_blocker_needs_a_due_date() -> None:
    r = refused(given(received()), raise_(due_on=None), "2026-03-02")
    assert (r.code, r.field) == ("invalid_field", "due_on")


def test_an_enterprise_blocker_may_have_no_due_date() -> None:
    [e] = when(given(received()), raise_(side="enterprise", cause="insufficient_funds", due_on=None), "2026-03-02")
    assert isinstance(e, ev.BlockerRaised) and e.due_on is None


def test_a_cause_of_the_other_side_is_refused() -> None:
    r = refused(given(received()), raise_(cause="weak_willingness"), "2026-03-02")
    assert r.message == "weak_willingness is an enterprise-side cause, not a government one"
    r = refused(given(received()), raise_(side="enterprise", cause="red_line_unstable"), "2026-03-02")
    assert r.message == "red_line_unstable is a government-side cause, not an enterprise one"


def test_an_other_cause_needs_a_text() -> None:
    r = refused(given(received()), raise_(cause="other"), "2026-03-02")
    assert (r.code, r.field) == ("invalid_field", "cause_text")
    [e] = when(given(received()), raise_(cause="other", cause_text="文物勘探未完成"), "2026-03-02")
    assert isinstance(e, ev.BlockerRaised)


def test_a_blocker_needs_a_department() -> None:
    r = refused(given(received()), raise_(department=" "), "2026-03-02")
    assert (r.code, r.field) == ("invalid_field", "department")


def test_a_blocker_due_in_the_past_is_refused() -> None:
    r = refused(given(received()), raise_(due_on=dt.date(2026, 3, 1)), "2026-03-02")
    assert r.message == "the due date 2026-03-01 is before today (2026-03-02)"


def test_a_blocker_id_is_used_once() -> None:
    r = refused(given(received(), RAISED), raise_(), "2026-03-02")
    assert r.message == "blocker b1 already exists"


def test_a_blocker_about_an_unknown_stage_is_refused() -> None:
    r = refused(given(received()), raise_(stage="demolition"), "2026-03-02")
    assert (r.code, r.field) == ("invalid_field", "stage")


def test_updating_a_blocker_changes_only_the_given_fields() -> None:
    [e] = when(given(received(), RAISED), cmd.UpdateBlocker(blocker_id="b1", due_on=d("2026-05-29")), "2026-03-02")
    b = given(received(), RAISED, e).blockers["b1"]
    assert (b.due_on, b.goal, b.department) == (d("2026-05-29"), "完成净地移交", "土地储备中心")


def test_an_update_that_changes_nothing_is_refused() -> None:
    r = refused(given(received(), RAISED), cmd.UpdateBlocker(blocker_id="b1"), "2026-03-02")
    assert r.message == "the update of blocker b1 changes nothing"


def test_an_update_cannot_blank_the_department_or_set_a_past_due_date() -> None:
    r = refused(given(received(), RAISED), cmd.UpdateBlocker(blocker_id="b1", department=""), "2026-03-02")
    assert r.field == "department"
    r = refused(given(received(), RAISED), cmd.UpdateBlocker(blocker_id="b1", due_on=d("2026-02-27")), "2026-03-02")
    assert r.field == "due_on"


def test_an_unknown_blocker_cannot_be_updated_or_resolved() -> None:
    r = refused(given(received()), cmd.UpdateBlocker(blocker_id="b9", goal="x"), "2026-03-02")
    assert r.message == "the project has no blocker b9"
    r = refused(given(received()), cmd.ResolveBlocker(blocker_id="b9"), "2026-03-02")
    assert r.message == "the project has no blocker b9"


def test_resolving_a_blocker_closes_it() -> None:
    [e] = when(given(received(), RAISED), cmd.ResolveBlocker(blocker_id="b1", resolution="已完成收储"), "2026-04-20")
    assert e == ev.BlockerResolved(blocker_id="b1", resolved_on=d("2026-04-20"), resolution="已完成收储")
    assert given(received(), RAISED, e).open_blockers() == ()


def test_a_resolved_blocker_cannot_be_resolved_or_updated_again() -> None:
    done = ev.BlockerResolved(blocker_id="b1", resolved_on=d("2026-04-20"))
    r = refused(given(received(), RAISED, done), cmd.ResolveBlocker(blocker_id="b1"), "2026-04-21")
    assert r.message == "blocker b1 was already resolved on 2026-04-20"
    r = refused(given(received(), RAISED, done), cmd.UpdateBlocker(blocker_id="b1", goal="x"), "2026-04-21")
    assert r.code == "rule_violation"


LAND_APPROVAL_OPEN = (*NEW_AFTER_SITE, opened("land_use_approval", "2026-03-05"))
RED_LINE = ev.BlockerRaised(blocker_id="r1", side="government", cause="red_line_unstable", department="规划选址科",
                            due_on=d("2026-04-30"))


def test_an_unstable_red_line_blocks_passing_the_land_use_approval() -> None:
    r = refused(given(*LAND_APPROVAL_OPEN, RED_LINE), cmd.PassStage(stage="land_use_approval"), "2026-03-20")
    assert (r.code, r.field) == ("rule_violation", "stage")
    assert r.message == "stage land_use_approval cannot pass: blocker r1 (red_line_unstable) is still open"


def test_every_open_red_line_blocker_is_named() -> None:
    r2 = ev.BlockerRaised(blocker_id="r2", side="government", cause="red_line_unstable", department="详细规划科",
                          due_on=d("2026-04-30"), stage="land_use_approval")
    r = refused(given(*LAND_APPROVAL_OPEN, RED_LINE, r2), cmd.PassStage(stage="land_use_approval"), "2026-03-20")
    assert r.message == ("stage land_use_approval cannot pass: blockers r1 (red_line_unstable) and "
                         "r2 (red_line_unstable) are still open")


def test_once_the_red_line_is_resolved_the_land_use_approval_passes() -> None:
    resolved = ev.BlockerResolved(blocker_id="r1", resolved_on=d("2026-03-19"), resolution="红线已稳定")
    [e] = when(given(*LAND_APPROVAL_OPEN, RED_LINE, resolved), cmd.PassStage(stage="land_use_approval"), "2026-03-20")
    assert isinstance(e, ev.StagePassed) and e.stage == "land_use_approval"


def test_an_unstable_red_line_does_not_hold_other_stages_and_other_blockers_do_not_hold_land_approval() -> None:
    s = given(*NEW_AFTER_SITE, opened("planning_conditions", "2026-03-05"), RED_LINE)
    [e] = when(s, cmd.PassStage(stage="planning_conditions"), "2026-03-05")
    assert isinstance(e, ev.StagePassed)
    [e] = when(given(*LAND_APPROVAL_OPEN, RAISED), cmd.PassStage(stage="land_use_approval"), "2026-03-20")
    assert isinstance(e, ev.StagePassed)


def test_which_causes_hold_a_stage_is_the_policys_held_by() -> None:
    assert POLICY.stages["land_use_approval"].held_by == ("red_line_unstable",)
    # A bureau whose policy lets land approval pass over an unstable red line (held_by left out):
    lenient = dataclasses.replace(POLICY, stages={
        **POLICY.stages, "land_use_approval": dataclasses.replace(POLICY.stages["land_use_approval"], held_by=())})
    [e] = when(given(*LAND_APPROVAL_OPEN, RED_LINE), cmd.PassStage(stage="land_use_approval"), "2026-03-20", lenient)
    assert isinstance(e, ev.StagePassed)
    # … and one that holds planning conditions on an unfinished land reserve too:
    strict = dataclasses.replace(POLICY, stages={
        **POLICY.stages,
        "planning_conditions": dataclasses.replace(POLICY.stages["planning_conditions"],
                                                   held_by=("land_reserve_unfinished",))})
    reserve = msgspec.structs.replace(RAISED, cause="land_reserve_unfinished")
    r = refused(given(*NEW_AFTER_SITE, opened("planning_conditions", "2026-03-05"), reserve),
                cmd.PassStage(stage="planning_conditions"), "2026-03-05", strict)
    assert r.message == "stage planning_conditions cannot pass: blocker b1 (land_reserve_unfinished) is still open"


def test_a_policy_holding_a_stage_on_an_unknown_cause_is_refused_naming_the_key() -> None:
    text = DEFAULT_POLICY_PATH.read_text(encoding="utf-8").replace(
        'held_by = ["red_line_unstable"]', 'held_by = ["red_line_wobbly"]')
    with pytest.raises(PolicyError, match=r"'stages.land_use_approval.held_by' has value \['red_line_wobbly'\]: "
                                          r"'red_line_wobbly' is not a blocker cause"):
        parse_policy_text(text)
