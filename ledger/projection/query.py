"""One project's ledger entry: read from a build (live views or a named schema), or folded as of a time."""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg

from ledger.eventlog import EventLog
from ledger.projection.build import By, as_of_filter
from ledger.projection.fold import Batch, fold_commit
from ledger.projection.schema import names, q
from ledger.projection.state import Project, project_from_rows


async def from_schema(conn: asyncpg.Connection, project_id: str, schema: str | None = None) -> Project | None:
    """From the live views (schema None) or from a named build."""
    s = "ledger" if schema is None else q(schema)
    row = await conn.fetchrow(f"SELECT * FROM {s}.projects WHERE id = $1", project_id)
    if row is None:
        return None
    stages = await conn.fetch(f"SELECT * FROM {s}.project_stages WHERE project_id = $1 ORDER BY opened_on, stage",
                              project_id)
    blockers = await conn.fetch(f"SELECT * FROM {s}.project_blockers WHERE project_id = $1 ORDER BY blocker_id",
                                project_id)
    return project_from_rows(row, list(stages), list(blockers))


async def as_of(log: EventLog, project_id: str, at: dt.datetime, by: By = "recorded") -> Project | None:
    """Folded straight from the project's commits in the log: no build needed, same fold code."""
    loaded = await log.load_project(project_id)
    keep = as_of_filter(at, by)
    project = Project(id=project_id)
    batch = Batch(prev_seq=0)
    for rec in loaded.records:
        fold_commit(rec, batch, project, keep)
    if not batch.projects:
        return None
    project.refresh()
    return project


def to_json(p: Project, today: dt.date) -> dict[str, Any]:
    out: dict[str, Any] = {c: getattr(p, c) for c in names("projects")}
    out["overdue"] = bool(not p.withdrawn and p.next_due_on is not None and p.next_due_on < today)
    out["stages"] = [{c: getattr(s, c) for c in names("project_stages") if c != "project_id"}
                     | {"overdue": s.status == "open" and not s.suspended and s.due_on is not None and s.due_on < today}
                     for s in p.stages.values()]
    out["blockers"] = [{c: getattr(b, c) for c in names("project_blockers") if c != "project_id"}
                       | {"overdue": b.status == "open" and b.due_on is not None and b.due_on < today}
                       for b in p.blockers.values()]
    return out
