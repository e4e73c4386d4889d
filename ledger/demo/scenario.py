"""The whole scenario for a seed: the seed cases plus the year's volume, deterministic for the seed."""

from __future__ import annotations

import random
from collections import Counter

from ledger.demo.cases import cases
from ledger.demo.script import Script
from ledger.demo.volume import volume

DEFAULT_SEED = 2026


def id_prefix(seed: int) -> str:
    """Project ids: BY-2026-0001 … for the default seed; another seed makes other projects (BY-S7-…)."""
    return "BY-2026" if seed == DEFAULT_SEED else f"BY-S{seed}"


def scenario(seed: int = DEFAULT_SEED) -> list[Script]:
    prefix = id_prefix(seed)
    return cases(prefix) + volume(random.Random(seed), prefix)


def summary(scripts: list[Script]) -> dict[str, int]:
    """What the scenario sends, by command type (for the CLI's plan line and the tests)."""
    counts = Counter(type(step.submission.command).__name__ for s in scripts for step in s.steps)
    return dict(sorted(counts.items()))
