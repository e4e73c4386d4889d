"""Where a project stands: the nine categories of seed 001, from the stages service's folded state.

The rules live once, in ledger.classify (projections use the same function on their rows).
"""

from __future__ import annotations

from typing import Final

from ledger import classify as shared
from services.stages.state import ProjectState

# code -> (zh, en), in the order of seed 001: six for new projects, three for continuing ones.
CATEGORIES: Final[dict[str, tuple[str, str]]] = {code: (zh, en) for code, zh, en in shared.CATEGORIES}
NEW_PROJECT_CATEGORIES: Final = tuple(list(CATEGORIES)[:6])
CONTINUING_CATEGORIES: Final = tuple(list(CATEGORIES)[6:])


def classify(state: ProjectState) -> str:
    """The category code of a received project (withdrawn ones keep the category they reached)."""
    if not state.exists:
        raise ValueError("a project that was never received has no category")
    return shared.classify(
        state.track or "new",
        state.initiated,
        frozenset(state.passed),
        open_stages=frozenset(state.open_stages),
        red_line_disputed=any(b.cause == "red_line_unstable" for b in state.open_blockers()),
    )


def label(category: str, lang: str = "zh") -> str:
    zh, en = CATEGORIES[category]
    return zh if lang == "zh" else en
