"""Keeps the deadline view: reads the log in order and applies each batch with its position in one transaction.

One active writer per schema (a session advisory lock; another replica waits as hot standby). The
position fence (`seq > stored position`) makes a redelivered or re-read commit a no-op, so the view is
exactly-once even though the log is read at-least-once.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

import asyncpg

from contracts.envelope import Recorded
from contracts.events import AlertFailed, AlertSent
from ledger.calendar_log import CalendarSource, apply_published
from ledger.eventlog import EventLog
from ledger.waits import cancel_and_wait
from services.notify.config import NotifyConfig
from services.notify.deadlines import Deadline, ProjectInfo, evolve
from services.notify.policy import AlertPolicy
from services.notify.schema import wake_channel
from services.notify.store import (
    load_views,
    mark_recorded,
    open_deadline_projects,
    rollback_retry,
    save_deadlines,
    save_projects,
)

log = logging.getLogger("notify.projector")


@dataclass
class Projector:
    conn: asyncpg.Connection
    schema: str
    calendar: CalendarSource
    policy: AlertPolicy
    config: NotifyConfig
    batch: int = 2000
    applied: int = 0
    progress: asyncio.Event = field(default_factory=asyncio.Event)

    async def position(self) -> int:
        return int(await self.conn.fetchval(f"SELECT seq FROM {self.schema}.position"))

    async def apply(self, records: list[Recorded]) -> int:
        """Apply one batch atomically; returns the new position. A deadlock or serialization failure
        rolled the whole batch back, so it is simply applied again."""
        position: int = await rollback_retry()(self._apply, records)
        return position

    async def _apply(self, records: list[Recorded]) -> int:
        s = self.schema
        async with self.conn.transaction():
            pos = int(await self.conn.fetchval(f"SELECT seq FROM {s}.position FOR UPDATE"))
            fresh = [r for r in records if r.seq > pos]
            if not fresh:
                return pos
            calendars = [r for r in fresh if r.commit.kind == "calendar"]
            for r in calendars:
                self.calendar.current = apply_published(self.calendar.current, r)
            projects = [r for r in fresh if r.commit.kind == "project"]
            # A published year (or a correction) can move or complete the plan of any open deadline:
            # e.g. an escalation that fell in a year without a calendar was left unplanned until now.
            replan = await open_deadline_projects(self.conn, s) if calendars else set()
            views = await load_views(self.conn, s, {r.commit.key for r in projects} | replan)
            before = {pid: (v.info, dict(v.deadlines)) for pid, v in views.items()}
            marks: list[tuple[str, int, AlertSent | AlertFailed]] = []
            for r in projects:
                view = views[r.commit.key]
                for envelope in r.commit.events:
                    evolve(view, envelope)
                    if isinstance(envelope.event, AlertSent | AlertFailed):
                        marks.append((r.commit.key, r.seq, envelope.event))
            infos: list[ProjectInfo] = []
            changed: list[tuple[Deadline, ProjectInfo]] = []
            for pid, view in views.items():
                info0, deadlines0 = before[pid]
                if view.info != info0:
                    infos.append(view.info)
                changed.extend((d, view.info) for k, d in view.deadlines.items()
                               if deadlines0.get(k) != d or (pid in replan and d.status == "open"))
            last = fresh[-1].seq
            await save_projects(self.conn, s, infos)
            planned = await save_deadlines(self.conn, s, changed, last, self.calendar.current, self.policy,
                                           self.config)
            await mark_recorded(self.conn, s, marks)
            await self.conn.execute(f"UPDATE {s}.position SET seq = $1", last)
            if planned or marks:
                await self.conn.execute("SELECT pg_notify($1, $2)", wake_channel(s), str(last))
        self.applied += len(fresh)
        self.progress.set()
        return last

    async def follow(self, event_log: EventLog) -> None:
        """Apply the log from the stored position on, forever (cancel to stop)."""
        queue: asyncio.Queue[Recorded] = asyncio.Queue(maxsize=self.batch * 4)

        async def read() -> None:
            async for recorded in event_log.read(from_seq=await self.position() + 1, follow=True):
                await queue.put(recorded)

        reader = asyncio.create_task(read(), name="notify-log-reader")
        getter: asyncio.Future[Recorded] | None = None
        try:
            while True:
                getter = asyncio.ensure_future(queue.get())
                done, _ = await asyncio.wait({getter, reader}, return_when=asyncio.FIRST_COMPLETED)
                if reader in done:
                    getter.cancel()
                    reader.result()  # re-raise the reader's failure
                    raise RuntimeError("log reader stopped")
                batch = [getter.result()]
                while len(batch) < self.batch and not queue.empty():
                    batch.append(queue.get_nowait())
                await self.apply(batch)
        finally:
            await cancel_and_wait(t for t in (reader, getter) if t is not None)
