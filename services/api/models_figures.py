"""Response shapes of the figures: departments' months, the ranking, permits, the overview."""

from __future__ import annotations

import datetime as dt

import msgspec


class DepartmentMonth(msgspec.Struct, kw_only=True):
    department: str
    month: dt.date
    completed: int
    on_time: int
    early: int
    late: int
    working_days: int
    on_time_rate: float | None
    early_rate: float | None
    rank: int


class RankedDepartment(msgspec.Struct, kw_only=True):
    rank: int
    department: str
    completed: int
    on_time: int
    early: int
    late: int
    on_time_rate: float | None
    early_rate: float | None
    open_overdue: int
    list: str  # red / black / "" — the red/black list (红黑榜)


class Ranking(msgspec.Struct, kw_only=True):
    month: dt.date
    departments: list[RankedDepartment]


class PermitKind(msgspec.Struct, kw_only=True):
    kind: str
    issued: int
    land_area_m2: float
    floor_area_m2: float


class PermitFigures(msgspec.Struct, kw_only=True):
    year: int | None
    month: dt.date | None
    by_kind: list[PermitKind]
    total_issued: int


class Count(msgspec.Struct, kw_only=True):
    key: str
    count: int


class BlockerCount(msgspec.Struct, kw_only=True):
    side: str
    cause: str
    count: int


class Overview(msgspec.Struct, kw_only=True):
    projects: int
    withdrawn: int
    by_category: list[Count]
    key_projects: dict[str, int]  # total / done / in_progress / follow_up
    overdue_projects: int
    overdue_stages: int
    overdue_blockers: int
    open_blockers: list[BlockerCount]
    ranking: Ranking


class Build(msgspec.Struct, kw_only=True):
    name: str
    kind: str
    status: str
    live: bool
    as_of: dt.datetime | None
    as_of_by: str | None
    built_to_seq: int | None
    finished_at: dt.datetime | None


class RejectedSubmission(msgspec.Struct, kw_only=True):
    seq: int
    source: str
    time: str
    code: str
    field: str
    message: str
    subject: str
    raw: str
