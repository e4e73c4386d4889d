"""Reads and writes of the deadline view: load projects, save changed deadlines, (re)plan their alert rows."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable

import asyncpg
import tenacity

from contracts.events import AlertFailed, AlertSent
from ledger.workdays import UnknownYear, WorkingCalendar
from services.notify.config import NotifyConfig
from services.notify.deadlines import Deadline, ProjectInfo, ProjectView
from services.notify.levels import RANK, plan
from services.notify.policy import AlertPolicy

log = logging.getLogger("notify.store")


def rollback_retry() -> tenacity.AsyncRetrying:
    """Run a transaction again when Postgres rolled it back (deadlock, serialization failure): the
    recorder's settle and the view's writer both touch alert rows; each lock key order, and this
    covers what remains."""
    return tenacity.AsyncRetrying(
        stop=tenacity.stop_after_attempt(5), wait=tenacity.wait_exponential(multiplier=0.05, max=1),
        retry=tenacity.retry_if_exception_type(asyncpg.exceptions.TransactionRollbackError), reraise=True)


def alert_key(deadline_id: str, due_on: dt.date, level: str, target: str) -> str:
    """Unique per (deadline, due date, level, target): a moved due date is a new alert, a replay is not."""
    return f"{deadline_id}:{due_on.isoformat()}:{level}:{target}"


async def load_views(conn: asyncpg.Connection, s: str, project_ids: Iterable[str]) -> dict[str, ProjectView]:
    ids = list(project_ids)
    views = {pid: ProjectView(ProjectInfo(pid)) for pid in ids}
    for r in await conn.fetch(f"SELECT * FROM {s}.projects WHERE project_id = ANY($1)", ids):
        views[r["project_id"]].info = ProjectInfo(r["project_id"], r["name"], r["district"], r["leader"], r["section"])
    for r in await conn.fetch(f"SELECT * FROM {s}.deadlines WHERE project_id = ANY($1)", ids):
        d = Deadline(r["project_id"], r["kind"], r["ref"], r["department"], r["opened_on"], r["due_on"],
                     r["limit_days"], r["status"], tuple(r["missing"]))
        views[d.project_id].deadlines[d.id] = d
    return views


async def open_deadline_projects(conn: asyncpg.Connection, s: str) -> set[str]:
    return {r[0] for r in await conn.fetch(f"SELECT DISTINCT project_id FROM {s}.deadlines WHERE status = 'open'")}


async def save_projects(conn: asyncpg.Connection, s: str, infos: list[ProjectInfo]) -> None:
    await conn.executemany(
        f"""INSERT INTO {s}.projects VALUES ($1, $2, $3, $4, $5) ON CONFLICT (project_id) DO UPDATE
            SET name = EXCLUDED.name, district = EXCLUDED.district, leader = EXCLUDED.leader,
                section = EXCLUDED.section""",
        [(i.project_id, i.name, i.district, i.leader, i.section) for i in infos])


async def save_deadlines(conn: asyncpg.Connection, s: str, changed: list[tuple[Deadline, ProjectInfo]], seq: int,
                         calendar: WorkingCalendar, policy: AlertPolicy, config: NotifyConfig) -> int:
    """Upsert changed deadlines; cancel their pending alerts and plan the current ones. Returns rows planned."""
    if not changed:
        return 0
    await conn.executemany(
        f"""INSERT INTO {s}.deadlines VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
            ON CONFLICT (id) DO UPDATE SET department = EXCLUDED.department, opened_on = EXCLUDED.opened_on,
              due_on = EXCLUDED.due_on, limit_days = EXCLUDED.limit_days, status = EXCLUDED.status,
              missing = EXCLUDED.missing, updated_seq = EXCLUDED.updated_seq""",
        [(d.id, d.project_id, d.kind, d.ref, d.department, d.opened_on, d.due_on, d.limit_days, d.status,
          list(d.missing), seq) for d, _ in changed])
    await conn.execute(f"UPDATE {s}.alerts SET state = 'cancelled' WHERE deadline_id = ANY($1) AND state = 'pending'",
                       [d.id for d, _ in changed])
    rows: list[tuple[object, ...]] = []
    for d, info in changed:
        try:
            planned = plan(d, calendar, policy)
        except UnknownYear as err:
            log.warning("deadline %s: no alerts planned: %s", d.id, err)
            continue
        for p in planned:
            for t in config.targets_for(department=d.department, level=p.level, kind=d.kind,
                                        project_id=d.project_id, key_project=bool(info.leader)):
                rows.append((alert_key(d.id, d.due_on, p.level, t.name), d.id, d.project_id, d.kind, d.ref, p.level,
                             RANK[p.level], d.due_on, p.fire_on, t.name, t.channel, t.recipient, d.department,
                             p.fire_at, seq))
    # A key already sent (or failing, or in flight) keeps its state: only a cancelled row comes back to life.
    await conn.executemany(
        f"""INSERT INTO {s}.alerts (alert_key, deadline_id, project_id, kind, ref, level, level_rank, due_on, fire_on,
              target, channel, recipient, department, fire_at, state, created_seq)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 'pending', $15)
            ON CONFLICT (alert_key) DO UPDATE SET state = 'pending', fire_at = EXCLUDED.fire_at,
              fire_on = EXCLUDED.fire_on WHERE {s}.alerts.state = 'cancelled'""", rows)
    return len(rows)


async def mark_recorded(conn: asyncpg.Connection, s: str,
                        marks: list[tuple[str, int, AlertSent | AlertFailed]]) -> None:
    """AlertSent / AlertFailed seen in the log (project_id, seq, event): the row is settled, whatever its state.

    A key the view never planned (routes changed since) gets a settled row of its own, so that it can
    never be sent again. A later failure never overrides a recorded send.
    """
    rows = []
    for pid, seq, e in marks:
        sent = isinstance(e, AlertSent)
        rows.append((e.alert_key, f"{pid}:{e.deadline_kind}:{e.deadline_ref}", pid, e.deadline_kind, e.deadline_ref,
                     e.level, RANK[e.level], e.due_on, e.channel, e.recipient, "sent" if sent else "failed",
                     e.sent_at if isinstance(e, AlertSent) else None,
                     e.error if isinstance(e, AlertFailed) else None, seq))
    await conn.executemany(
        f"""INSERT INTO {s}.alerts (alert_key, deadline_id, project_id, kind, ref, level, level_rank, due_on,
              target, channel, recipient, department, fire_at, state, sent_at, error, created_seq, recorded_seq)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10, '', coalesce($12, now()), $11, $12, $13, $14, $14)
            ON CONFLICT (alert_key) DO UPDATE SET state = EXCLUDED.state,
              sent_at = coalesce(EXCLUDED.sent_at, {s}.alerts.sent_at),
              error = coalesce(EXCLUDED.error, {s}.alerts.error), recorded_seq = EXCLUDED.recorded_seq,
              claimed_until = NULL
            WHERE NOT ({s}.alerts.state = 'sent' AND EXCLUDED.state = 'failed')""",
        sorted(rows, key=lambda r: str(r[0])))  # key order, as the recorder's settle locks: no deadlock
