"""Appending realistic project histories for notify tests (what stages and intake would have written)."""

from __future__ import annotations

import datetime as dt
import uuid

from contracts import events as ev
from contracts.envelope import Envelope
from ledger.eventlog import EventLog, next_commit

AT = dt.datetime(2026, 9, 21, 2, 0, tzinfo=dt.UTC)  # Monday 10:00 in Shanghai


def env(project_id: str, event: ev.DomainEvent, at: dt.datetime = AT) -> Envelope:
    return Envelope(event_id=str(uuid.uuid4()), project_id=project_id, occurred_at=at, actor="窗口",
                    source="window", event=event)


async def append(log: EventLog, project_id: str, *events: ev.DomainEvent) -> int:
    loaded = await log.load_project(project_id)
    commit = next_commit(loaded, commit_id=str(uuid.uuid4()), key=project_id,
                         events=[env(project_id, e) for e in events])
    return (await log.append(commit, expected_version=loaded.version)).seq


def received(name: str = "黄边村城市更新项目", leader: str = "王副局长") -> ev.ApplicationReceived:
    return ev.ApplicationReceived(name=name, enterprise="广州某城市更新有限公司", district="白云区", track="new",
                                  key_project=ev.KeyProject(leader=leader, section="用地科") if leader else None)


def opened(stage: str = "site_selection", *, on: dt.date = dt.date(2026, 9, 21), limit: int = 6,
           due: dt.date = dt.date(2026, 9, 30), department: str = "用地科") -> ev.StageOpened:
    return ev.StageOpened(stage=stage, department=department, opened_on=on, limit_days=limit, statutory_days=30,
                          due_on=due, rule="test", calendar_version="test")
