"""Where a project stands: the nine categories of seed 001, derived from its folded state."""

from __future__ import annotations

from typing import Final

from services.stages.state import ProjectState

# code -> (zh, en), in the order of seed 001: six for new projects, three for continuing ones.
CATEGORIES: Final[dict[str, tuple[str, str]]] = {
    "early_study": ("前期研究", "Early study"),
    "initiated_red_line_unstable": ("已立项但规划红线未稳定", "Initiated, red line not yet stable"),
    "red_line_stable_land_approval_pending": ("规划红线稳定但未完成用地报批",
                                              "Red line stable, land-use approval not done"),
    "land_approved_not_supplied": ("已完成用地报批尚未供地", "Land approved, not yet supplied"),
    "land_supplied_permit_pending": ("已供地未完成规划报建", "Land supplied, planning permit not done"),
    "permit_done": ("已完成规划报建", "Planning permit done"),
    "land_secured": ("已完成用地保障", "Land secured"),
    "land_needed": ("还需要用地保障", "Land still needed"),
    "condition_verification_pending": ("尚未完成规划条件核实", "Planning-condition verification not done"),
}

NEW_PROJECT_CATEGORIES: Final = tuple(list(CATEGORIES)[:6])
CONTINUING_CATEGORIES: Final = tuple(list(CATEGORIES)[6:])


def classify(state: ProjectState) -> str:
    """The category code of a received project (withdrawn ones keep the category they reached).

    New projects, most advanced first: a planning permit (or the rural permit) passed; land supply
    passed; land-use approval passed; site selection passed and no open red-line blocker (the red
    line is stable); initiated, or site selection passed but the red line is disputed; else early study.
    Continuing projects: land guarantee not passed -> land needed; planning-condition verification
    open -> verification pending; otherwise land secured.
    """
    if not state.exists:
        raise ValueError("a project that was never received has no category")
    if state.track == "continuing":
        if not state.has_passed("land_guarantee"):
            return "land_needed"
        if state.is_open("planning_condition_verification"):
            return "condition_verification_pending"
        return "land_secured"
    if state.has_passed("planning_permit") or state.has_passed("rural_permit"):
        return "permit_done"
    if state.has_passed("land_supply"):
        return "land_supplied_permit_pending"
    if state.has_passed("land_use_approval"):
        return "land_approved_not_supplied"
    red_line_disputed = any(b.cause == "red_line_unstable" for b in state.open_blockers())
    if state.has_passed("site_selection") and not red_line_disputed:
        return "red_line_stable_land_approval_pending"
    if state.initiated or state.has_passed("site_selection"):
        return "initiated_red_line_unstable"
    return "early_study"


def label(category: str, lang: str = "zh") -> str:
    zh, en = CATEGORIES[category]
    return zh if lang == "zh" else en
