"""Constrained scalar types shared by every message of the contract."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import msgspec

# Project ids become NATS subject tokens: no dots, spaces or wildcards.
ProjectId = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$",
        description="Project id chosen by the publishing system: letters, digits, '_' and '-', 1-64 chars.",
        examples=["GZ-BY-2026-0001"],
    ),
]
SourceId = Annotated[
    str,
    msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$", description="Id of a publishing system.", examples=["window"]),
]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Text = Annotated[str, msgspec.Meta(max_length=2000)]
Code = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
UtcTime = Annotated[dt.datetime, msgspec.Meta(tz=True, description="RFC 3339 time with offset.")]
WorkingDays = Annotated[int, msgspec.Meta(ge=0, le=3650)]
Area = Annotated[float, msgspec.Meta(ge=0, description="Square metres.")]
Sha256 = Annotated[str, msgspec.Meta(pattern=r"^[0-9a-f]{64}$")]
IdempotencyKey = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]

Track = Literal["new", "continuing"]
Side = Literal["government", "enterprise"]
SuspendReason = Literal["expert_review", "applicant_correction", "public_notice"]
AlertLevel = Literal["yellow", "red", "overdue", "escalation"]
DeadlineKind = Literal["stage", "blocker", "documents"]

# Blocker causes from seed 001: government side (land reserve / acquisition not finished,
# land not cleared, red line unstable) and enterprise side (weak willingness to take the land,
# changed investment plan, lack of funds); "other" needs a free text.
BlockerCause = Literal[
    "land_reserve_unfinished",
    "land_not_cleared",
    "red_line_unstable",
    "land_approval_slow",
    "weak_willingness",
    "investment_plan_changed",
    "insufficient_funds",
    "other",
]

GENESIS_HASH = "0" * 64
"""prev_hash of a project's first commit."""

__all__ = [
    "GENESIS_HASH",
    "AlertLevel",
    "Area",
    "BlockerCause",
    "Code",
    "DeadlineKind",
    "IdempotencyKey",
    "Name",
    "ProjectId",
    "Sha256",
    "Side",
    "SourceId",
    "SuspendReason",
    "Text",
    "Track",
    "UtcTime",
    "WorkingDays",
]
