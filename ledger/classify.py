"""The nine project categories of seed 001, as a pure function of a project's facts."""

from __future__ import annotations

from collections.abc import Set

NEW_CHAIN = ("site_selection", "land_use_approval", "land_supply", "planning_permit", "rights_registration")

# (code, 中文, English) in the order seed 001 lists them: six for new projects, three for continuing.
CATEGORIES: tuple[tuple[str, str, str], ...] = (
    ("early_study", "前期研究", "Early study"),
    ("initiated_red_line_unstable", "已立项但规划红线未稳定", "Initiated, red line not yet stable"),
    ("red_line_stable_land_approval_pending", "规划红线稳定但未完成用地报批", "Red line stable, land approval pending"),
    ("land_approved_not_supplied", "已完成用地报批尚未供地", "Land approved, not yet supplied"),
    ("land_supplied_permit_pending", "已供地未完成规划报建", "Land supplied, planning permit pending"),
    ("permit_done", "已完成规划报建", "Planning permit done"),
    ("land_secured", "已完成用地保障", "Land secured"),
    ("land_needed", "还需要用地保障", "Land still needed"),
    ("condition_verification_pending", "尚未完成规划条件核实", "Planning-condition verification pending"),
)
LABELS_ZH: dict[str, str] = {code: zh for code, zh, _ in CATEGORIES}
LABELS_EN: dict[str, str] = {code: en for code, _, en in CATEGORIES}


def classify(
    track: str,
    initiated: bool,
    passed: Set[str],
    *,
    open_stages: Set[str] = frozenset(),
    red_line_disputed: bool = False,
) -> str:
    """Category code of a project from its track, whether it is initiated, and the stages it passed.

    New projects, most advanced first: planning permit (or the rural permit) passed; land supply
    passed; land-use approval passed; site selection passed and no open red-line blocker (the red
    line is stable); initiated (or site selection passed but the red line is disputed); else early
    study. Continuing projects: land_guarantee not passed → land needed; planning-condition
    verification open → verification pending; otherwise land secured. Kept in step with the
    stages service's own classifier (same rules, facts instead of its state type).
    """
    if track == "continuing":
        if "land_guarantee" not in passed:
            return "land_needed"
        if "planning_condition_verification" in open_stages:
            return "condition_verification_pending"
        return "land_secured"
    if passed & {"planning_permit", "rural_permit"}:
        return "permit_done"
    if "land_supply" in passed:
        return "land_supplied_permit_pending"
    if "land_use_approval" in passed:
        return "land_approved_not_supplied"
    if "site_selection" in passed and not red_line_disputed:
        return "red_line_stable_land_approval_pending"
    if initiated or "site_selection" in passed:
        return "initiated_red_line_unstable"
    return "early_study"
