"""Spec: each project falls in one of the nine categories of seed 001."""

from __future__ import annotations

import pytest

from contracts import events as ev
from services.stages.classify import CATEGORIES, CONTINUING_CATEGORIES, NEW_PROJECT_CATEGORIES, classify, label
from services.stages.domain import ProjectState
from tests.stages.given import d, given, opened, passed, received

RED_LINE = ev.BlockerRaised(blocker_id="r", side="government", cause="red_line_unstable", department="规划选址科",
                            due_on=d("2026-04-30"))
SITE = passed("site_selection", "2026-03-04")
CASES: list[tuple[str, tuple[ev.DomainEvent, ...]]] = [
    ("early_study", (received(),)),
    ("initiated_red_line_unstable", (received(initiated=True),)),
    ("initiated_red_line_unstable", (received(), SITE, RED_LINE)),
    ("red_line_stable_land_approval_pending", (received(), SITE)),
    ("red_line_stable_land_approval_pending",
     (received(), SITE, RED_LINE, ev.BlockerResolved(blocker_id="r", resolved_on=d("2026-03-20")))),
    ("land_approved_not_supplied", (received(), SITE, passed("land_use_approval", "2026-04-01"))),
    ("land_supplied_permit_pending", (received(), SITE, passed("land_use_approval", "2026-04-01"),
                                      passed("land_supply", "2026-05-06"))),
    ("permit_done", (received(), SITE, passed("land_supply", "2026-05-06"), passed("planning_permit", "2026-05-12"))),
    ("permit_done", (received(project_kind="rural"), passed("rural_permit", "2026-03-10"))),
    ("land_needed", (received(track="continuing"), opened("land_guarantee", "2026-03-02"))),
    ("land_secured", (received(track="continuing"), passed("land_guarantee", "2026-03-10"))),
    ("condition_verification_pending", (received(track="continuing"), passed("land_guarantee", "2026-03-10"),
                                        opened("planning_condition_verification", "2026-06-01"))),
    ("land_secured", (received(track="continuing"), passed("land_guarantee", "2026-03-10"),
                      passed("planning_condition_verification", "2026-06-05"))),
]


@pytest.mark.parametrize(("category", "events"), CASES, ids=[f"{i}-{c}" for i, (c, _) in enumerate(CASES)])
def test_a_project_is_classified_by_where_it_stands(category: str, events: tuple[ev.DomainEvent, ...]) -> None:
    assert classify(given(*events)) == category


def test_there_are_six_new_and_three_continuing_categories_with_labels() -> None:
    assert len(NEW_PROJECT_CATEGORIES) == 6 and len(CONTINUING_CATEGORIES) == 3
    assert {c for c, _ in CASES} == set(CATEGORIES)
    assert label("land_approved_not_supplied") == "已完成用地报批尚未供地"
    assert label("permit_done", "en") == "Planning permit done"


def test_a_project_never_received_has_no_category() -> None:
    with pytest.raises(ValueError, match="never received"):
        classify(ProjectState())
