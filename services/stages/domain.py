"""The stages service's pure domain: state, evolve, decide, react and refusals in one import."""

from __future__ import annotations

from services.stages.decide import decide
from services.stages.evolve import evolve, fold
from services.stages.react import react
from services.stages.refusal import Refused
from services.stages.state import Blocker, PassedStage, ProjectState, ReturnedStage, RunningStage

__all__ = [
    "Blocker",
    "PassedStage",
    "ProjectState",
    "Refused",
    "ReturnedStage",
    "RunningStage",
    "decide",
    "evolve",
    "fold",
    "react",
]
