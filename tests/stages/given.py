"""Spec helpers: given events, when a command on a day, then events or a refusal."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from contracts import commands as cmd
from contracts import events as ev
from ledger.clock import FixedClock
from ledger.workdays import WorkingCalendar
from services.stages.deadlines import stage_opened
from services.stages.domain import ProjectState, Refused, decide, fold
from services.stages.policy import Policy, load_policy

CAL = WorkingCalendar.default()
POLICY = load_policy()


def d(iso: str) -> dt.date:
    return dt.date.fromisoformat(iso)


def at(day: str) -> FixedClock:
    # 00:30 in Shanghai is still the day before in UTC: the effective date must be Shanghai's.
    return FixedClock(dt.datetime.fromisoformat(f"{day}T00:30:00+08:00").astimezone(dt.UTC))


def received(track: str = "new", **kw: Any) -> ev.ApplicationReceived:
    return ev.ApplicationReceived(name="黄边村城市更新项目", enterprise="某置业公司", district="白云区",
                                  track=track, **kw)  # type: ignore[arg-type]


def opened(stage: str, on: str, missing: list[str] | None = None, policy: Policy = POLICY) -> ev.StageOpened:
    return stage_opened(policy.stages[stage], d(on), CAL, policy, missing or [])


def passed(stage: str, on: str) -> ev.StagePassed:
    return ev.StagePassed(stage=stage, passed_on=d(on), working_days_used=1, on_time=True, early=True)


def given(*events: ev.DomainEvent) -> ProjectState:
    return fold(list(events))


def when(state: ProjectState, command: cmd.AnyCommand, on: str, policy: Policy = POLICY) -> list[ev.DomainEvent]:
    return decide(state, command, at(on), CAL, policy)


def refused(state: ProjectState, command: cmd.AnyCommand, on: str, policy: Policy = POLICY) -> Refused:
    with pytest.raises(Refused) as info:
        decide(state, command, at(on), CAL, policy)
    return info.value


NEW_AFTER_SITE = (received(), opened("site_selection", "2026-03-02"), passed("site_selection", "2026-03-04"))
