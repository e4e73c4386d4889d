"""One project's script: submissions in time order with deterministic idempotency keys.

A script keeps the project's own clock on working days of the official calendar (Asia/Shanghai,
office hours) and stops at the scenario's end: steps later than `end` are not published, so a
project planned past the end date is simply still open — which is what makes deadlines overdue.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from contracts import commands as cmd
from contracts.events import Document, KeyProject
from ledger.clock import BUREAU_TZ
from ledger.workdays import WorkingCalendar

CALENDAR = WorkingCalendar.default()
# who acts for each publishing system: the window's clerk is the script's office; the others are systems
SYSTEMS = {"landsys": "用地审批系统", "permits": "规划许可系统", "registry": "不动产登记系统"}


@dataclass(frozen=True)
class Step:
    source: str
    submission: cmd.Submission


@dataclass
class Script:
    project_id: str
    actor_office: str
    day: dt.date
    end: dt.date
    bureau: str = "广州市规划和自然资源局白云区分局"
    minute: int = 9 * 60
    steps: list[Step] = field(default_factory=list)

    def __post_init__(self) -> None:
        while not CALENDAR.is_working_day(self.day):
            self.day += dt.timedelta(days=1)

    def after(self, working_days: int) -> Script:
        """Move the clock on by working days (0: later the same day)."""
        if working_days:
            self.day = CALENDAR.add_working_days(self.day, working_days)
            self.minute = 9 * 60 + (len(self.steps) * 37) % 180
        else:
            self.minute += 25
        return self

    def _at(self) -> dt.datetime:
        self.minute = min(self.minute, 17 * 60 + 50)
        local = dt.datetime.combine(self.day, dt.time(self.minute // 60, self.minute % 60), BUREAU_TZ)
        self.minute += 3
        return local.astimezone(dt.UTC)

    def send(self, source: str, command: cmd.AnyCommand, actor: str | None = None) -> Script:
        if self.day > self.end:
            return self
        n = len(self.steps) + 1
        sub = cmd.Submission(
            idempotency_key=f"{self.project_id}-{n:02d}", project_id=self.project_id, occurred_at=self._at(),
            actor=actor or (self.actor_office if source == "window" else f"{self.bureau}{SYSTEMS[source]}"),
            command=command, correlation_id=f"{self.project_id}/{n:02d}")
        self.steps.append(Step(source=source, submission=sub))
        return self

    # the commands, in the words of the systems that send them
    def submit(self, **kw: object) -> Script:
        return self.send("window", cmd.SubmitApplication(**kw))  # type: ignore[arg-type]

    def open(self, stage: str, source: str = "landsys") -> Script:
        return self.send(source, cmd.OpenStage(stage=stage))

    def passed(self, stage: str, kind: str, source: str = "landsys", number: str = "",
               land: float | None = None, floor: float | None = None) -> Script:
        doc = Document(kind=kind, number=number or f"{kind[:3].upper()}-{self.project_id}",
                       land_area_m2=land, floor_area_m2=floor)
        return self.send(source, cmd.PassStage(stage=stage, document=doc, report_ref=f"审查报告 {self.project_id}"))

    def suspend(self, stage: str, note: str) -> Script:
        return self.send("landsys", cmd.SuspendClock(stage=stage, reason="expert_review", note=note))

    def resume(self, stage: str) -> Script:
        return self.send("landsys", cmd.ResumeClock(stage=stage))

    def blocker(self, blocker_id: str, side: str, cause: str, department: str, due_in_days: int | None,
                description: str, goal: str = "", stage: str | None = None, cause_text: str = "") -> Script:
        due = CALENDAR.add_working_days(self.day, due_in_days) if due_in_days is not None else None
        return self.send("landsys", cmd.RaiseBlocker(
            blocker_id=blocker_id, side=side, cause=cause, department=department,  # type: ignore[arg-type]
            due_on=due, description=description, cause_text=cause_text, goal=goal, stage=stage,
            responsible_person=department + "负责人"))

    def resolve(self, blocker_id: str, resolution: str) -> Script:
        return self.send("landsys", cmd.ResolveBlocker(blocker_id=blocker_id, resolution=resolution))

    def supply(self, documents: list[str], stage: str | None = None) -> Script:
        return self.send("registry", cmd.SupplyDocuments(documents=documents, stage=stage))

    def extend(self, stage: str, days: int, reason: str) -> Script:
        return self.send("landsys", cmd.ExtendDeadline(stage=stage, extra_days=days, approved_by="分管副局长",
                                                       reason=reason))

    def withdraw(self, reason: str) -> Script:
        return self.send("window", cmd.WithdrawApplication(reason=reason))


def key_project(leader: str, section: str, plan: str) -> KeyProject:
    return KeyProject(leader=leader, section=section, work_plan=plan, mechanism="每周调度，问题清单销号管理")
