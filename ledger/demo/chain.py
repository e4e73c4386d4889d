"""The approval chain a new project walks (预审选址 → 用地报批 → 供地 → 规划报建 → 确权登记), step by step.

`depth` is how many links the project completes; the next link is opened and left running, so
its deadline is open (or overdue, when the scenario's end is past its due date).
Durations are working days drawn by the caller's random generator: some beyond the bureau's
committed limit (4 / 20 / 4 / 6 / 5), which makes departments late and the ranking real.
"""

from __future__ import annotations

import random

from ledger.demo.script import Script

NEW_DEPTHS = ("site_selection", "land_use_approval", "land_supply", "planning_permit", "rights_registration")


def duration(rng: random.Random, limit: int, late_share: float) -> int:
    if rng.random() < late_share:
        return limit + rng.randint(1, 4)
    return rng.randint(max(1, limit // 3), limit)


def new_chain(s: Script, rng: random.Random, depth: int, *, land: float | None, floor: float | None,
              late_share: float = 0.12, missing: list[str] | None = None, waiting: bool = False) -> Script:
    """Walk `depth` links (0 = site selection still running) after the application was received.

    After the last link passed, the next one is opened (and left running) only when the project is
    `waiting` on the bureau, or when it passed recently; otherwise the applicant has not applied yet.
    """
    def next_applied() -> bool:
        return waiting or (s.end - s.day).days < 30

    # site selection opens by itself when the application is received (the stages service reacts)
    if missing:  # accepted with documents missing (容缺后补): supplied within the documents' time limit
        s.after(rng.randint(1, 4)).supply(missing, "site_selection")
    s.after(duration(rng, 4, late_share))
    if depth < 1:
        return s
    s.passed("site_selection", "site_selection_opinion", source="permits")
    if depth < 2 and not next_applied():
        return s
    s.after(1).open("land_use_approval").open("planning_conditions", source="permits")
    s.after(0).passed("planning_conditions", "planning_conditions_notice", source="permits")
    s.after(duration(rng, 20, late_share))
    if depth < 2:
        return s
    s.passed("land_use_approval", "land_use_approval_reply")
    if depth < 3 and not next_applied():
        return s
    s.after(1).open("land_supply")
    s.after(duration(rng, 4, late_share))
    if depth < 3:
        return s
    s.passed("land_supply", "land_use_planning_permit", source="permits", land=land)
    if depth < 4 and not next_applied():
        return s
    s.after(1).open("planning_permit", source="permits")
    s.after(duration(rng, 6, late_share))
    if depth < 4:
        return s
    s.passed("planning_permit", "engineering_planning_permit", source="permits", land=land, floor=floor)
    if depth < 5 and not next_applied():
        return s
    s.after(rng.randint(5, 25)).open("rights_registration", source="permits")
    s.after(duration(rng, 5, late_share))
    if depth < 5:
        return s
    return s.passed("rights_registration", "real_estate_certificate", source="registry")


def continuing_chain(s: Script, rng: random.Random, depth: int) -> Script:
    """Continuing projects: land guarantee, then planning-condition verification."""
    s.after(duration(rng, 20, 0.15))
    if depth < 1:
        return s
    s.passed("land_guarantee", "land_guarantee_record")
    s.after(rng.randint(10, 40)).open("planning_condition_verification", source="permits")
    s.after(duration(rng, 5, 0.2))
    if depth < 2:
        return s
    return s.passed("planning_condition_verification", "planning_verification_opinion", source="permits")
