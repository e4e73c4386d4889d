"""One realistic instance per message type and version: the source of the golden files and examples.

The golden files under `contracts/golden/` are the canonical encoding of these values; changing a
value here means regenerating them (`python -m ledger.schemagen --golden`). A change to the wire
format itself should be a new type or version, not an edited golden file.
"""

from __future__ import annotations

import datetime as dt

from contracts.commands import (
    Command,
    ExtendDeadline,
    OpenStage,
    PassStage,
    RaiseBlocker,
    ResolveBlocker,
    ResumeClock,
    ReturnStage,
    Submission,
    SubmitApplication,
    SupplyDocuments,
    SuspendClock,
    UpdateBlocker,
    WithdrawApplication,
)
from contracts.envelope import Commit, Envelope
from contracts.events import (
    AlertFailed,
    AlertSent,
    ApplicationReceived,
    ApplicationWithdrawn,
    BlockerRaised,
    BlockerResolved,
    BlockerUpdated,
    CalendarPublished,
    ClockResumed,
    ClockSuspended,
    DeadlineExtended,
    Document,
    DocumentsSupplemented,
    Event,
    KeyProject,
    StageOpened,
    StagePassed,
    StageReturned,
)
from contracts.receipts import Accepted, Rejected
from contracts.types import GENESIS_HASH

CST = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")
VERSION = 1
PROJECT_ID = "GZ-BY-2026-0001"
WINDOW_ACTOR = "白云区政务服务中心规划窗口 李敏"


def _at(month: int, day: int, hour: int, minute: int) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=CST)


def _dates(month_days: str) -> list[dt.date]:
    return [dt.date.fromisoformat(f"2026-{md}") for md in month_days.split()]


KEY_PROJECT = KeyProject(
    leader="白云区副区长 陈志刚",
    section="白云区规划和自然资源局用地科",
    work_plan="2026年6月底前完成供地，9月底前取得建设工程规划许可证",
    mechanism="每周一专班调度，问题清单销号管理",
)

LAND_PERMIT = Document(
    kind="land_use_planning_permit",
    number="地字第440111202600037号",
    land_area_m2=36821.45,
    floor_area_m2=98500.0,
)

# --- commands, each as a publisher would submit it -------------------------------------------------

_COMMANDS: tuple[tuple[Command, str, dt.datetime], ...] = (
    (
        SubmitApplication(
            name="黄边村城市更新项目",
            enterprise="三全食品股份有限公司",
            district="白云区",
            track="new",
            project_kind="urban_renewal",
            station="白云区江高镇规划所",
            initiated=False,
            key_project=KEY_PROJECT,
            land_area_m2=36821.45,
            floor_area_m2=98500.0,
            missing_documents=["土地权属证明"],
        ),
        WINDOW_ACTOR,
        _at(3, 2, 9, 15),
    ),
    (WithdrawApplication(reason="企业调整投资计划，申请撤回本次报建"), WINDOW_ACTOR, _at(11, 16, 10, 5)),
    (OpenStage(stage="site_selection", missing_documents=["土地权属证明"]), WINDOW_ACTOR, _at(3, 2, 9, 20)),
    (
        PassStage(stage="land_supply", document=LAND_PERMIT, report_ref="穗白规资审〔2026〕112号"),
        "用地科 王建国",
        _at(7, 2, 16, 40),
    ),
    (
        ReturnStage(stage="planning_permit", reason="总平面图与规划条件不符，退回修改"),
        "报建科 张丽",
        _at(7, 8, 11, 0),
    ),
    (
        SuspendClock(stage="planning_permit", reason="expert_review", note="提交市规划委员会专家评审"),
        "报建科 张丽",
        _at(7, 20, 14, 30),
    ),
    (ResumeClock(stage="planning_permit"), "报建科 张丽", _at(7, 29, 9, 0)),
    (
        ExtendDeadline(stage="planning_permit", extra_days=3, approved_by="局长 刘海峰", reason="需征求交通部门意见"),
        "报建科 张丽",
        _at(7, 30, 10, 10),
    ),
    (
        SupplyDocuments(documents=["土地权属证明"], stage="site_selection"),
        WINDOW_ACTOR,
        _at(3, 4, 15, 45),
    ),
    (
        RaiseBlocker(
            blocker_id="blk_land_clearance",
            side="government",
            cause="land_not_cleared",
            description="地块内尚有3户未完成搬迁，无法净地出让",
            goal="6月15日前完成净地移交",
            department="白云区土地开发中心",
            responsible_person="周伟",
            due_on=dt.date(2026, 6, 15),
            stage="land_supply",
        ),
        "督查室 赵磊",
        _at(5, 20, 9, 30),
    ),
    (
        UpdateBlocker(blocker_id="blk_land_clearance", due_on=dt.date(2026, 6, 30), goal="6月30日前完成净地移交"),
        "督查室 赵磊",
        _at(6, 10, 17, 0),
    ),
    (
        ResolveBlocker(blocker_id="blk_land_clearance", resolution="已完成搬迁并移交净地"),
        "督查室 赵磊",
        _at(6, 26, 11, 20),
    ),
)


def _submission(index: int, command: Command, actor: str, occurred_at: dt.datetime) -> Submission:
    return Submission(
        idempotency_key=f"window-20260302-{index:06d}",
        project_id=PROJECT_ID,
        occurred_at=occurred_at,
        actor=actor,
        command=command,  # type: ignore[arg-type]  # every Command subclass is in AnyCommand
        correlation_id=f"BY-YW-2026-{index:05d}",
    )


SUBMISSIONS: dict[str, Submission] = {
    type(command).__name__: _submission(i + 1, command, actor, at) for i, (command, actor, at) in enumerate(_COMMANDS)
}
"""One Submission per command type, keyed by the command's type name."""

# --- events ----------------------------------------------------------------------------------------

_RECEIVED = ApplicationReceived(
    name="黄边村城市更新项目",
    enterprise="三全食品股份有限公司",
    district="白云区",
    track="new",
    project_kind="urban_renewal",
    station="白云区江高镇规划所",
    key_project=KEY_PROJECT,
    land_area_m2=36821.45,
    floor_area_m2=98500.0,
    first_stages=["site_selection"],
    missing_documents=["土地权属证明"],
)
_OPENED = StageOpened(
    stage="site_selection",
    department="规划选址科",
    opened_on=dt.date(2026, 3, 2),
    limit_days=4,
    statutory_days=30,
    due_on=dt.date(2026, 3, 6),
    rule="预审选址：法定30个工作日，本地压缩至4个工作日，自受理次日起算",
    calendar_version="CN-2026.1",
    parallel_group=None,
    missing_documents=["土地权属证明"],
    documents_due_on=dt.date(2026, 3, 16),
)

_CALENDAR = CalendarPublished(
    year=2026,
    holidays=_dates(
        "01-01 01-02 01-03 02-15 02-16 02-17 02-18 02-19 02-20 02-21 02-22 02-23 04-04 04-05 04-06"
        " 05-01 05-02 05-03 05-04 05-05 06-19 06-20 06-21 09-25 09-26 09-27"
        " 10-01 10-02 10-03 10-04 10-05 10-06 10-07"
    ),
    workdays=_dates("01-04 02-14 02-28 05-09 09-20 10-10"),
    source_document="国务院办公厅关于2026年部分节假日安排的通知",
)
EVENTS: tuple[Event, ...] = (
    _RECEIVED,
    ApplicationWithdrawn(reason="企业调整投资计划，申请撤回本次报建"),
    _OPENED,
    StagePassed(
        stage="land_supply",
        passed_on=dt.date(2026, 7, 2),
        working_days_used=3,
        suspended_days=0,
        on_time=True,
        early=True,
        document=LAND_PERMIT,
        report_ref="穗白规资审〔2026〕112号",
    ),
    StageReturned(stage="planning_permit", returned_on=dt.date(2026, 7, 8), reason="总平面图与规划条件不符，退回修改"),
    ClockSuspended(
        stage="planning_permit",
        reason="expert_review",
        suspended_on=dt.date(2026, 7, 20),
        note="提交市规划委员会专家评审",
    ),
    ClockResumed(
        stage="planning_permit",
        resumed_on=dt.date(2026, 7, 29),
        suspended_working_days=7,
        remaining_days=4,
        due_on=dt.date(2026, 8, 4),
        rule="专家评审时间不计入办理时限",
    ),
    DeadlineExtended(
        stage="planning_permit",
        extra_days=3,
        approved_by="局长 刘海峰",
        reason="需征求交通部门意见",
        due_on=dt.date(2026, 8, 7),
    ),
    DocumentsSupplemented(stage="site_selection", documents=["土地权属证明"], supplied_on=dt.date(2026, 3, 4)),
    BlockerRaised(
        blocker_id="blk_land_clearance",
        side="government",
        cause="land_not_cleared",
        description="地块内尚有3户未完成搬迁，无法净地出让",
        goal="6月15日前完成净地移交",
        department="白云区土地开发中心",
        responsible_person="周伟",
        due_on=dt.date(2026, 6, 15),
        stage="land_supply",
    ),
    BlockerUpdated(blocker_id="blk_land_clearance", goal="6月30日前完成净地移交", due_on=dt.date(2026, 6, 30)),
    BlockerResolved(
        blocker_id="blk_land_clearance", resolved_on=dt.date(2026, 6, 26), resolution="已完成搬迁并移交净地"
    ),
    AlertSent(
        alert_key="GZ-BY-2026-0001/stage/planning_permit/yellow",
        deadline_kind="stage",
        deadline_ref="planning_permit",
        level="yellow",
        due_on=dt.date(2026, 8, 7),
        channel="wecom",
        recipient="白云区规划和自然资源局报建科",
        sent_at=_at(8, 5, 9, 0),
    ),
    AlertFailed(
        alert_key="GZ-BY-2026-0001/stage/planning_permit/red",
        deadline_kind="stage",
        deadline_ref="planning_permit",
        level="red",
        due_on=dt.date(2026, 8, 7),
        channel="dingtalk",
        recipient="白云区规划和自然资源局报建科",
        attempts=5,
        error="HTTP 503 from DingTalk webhook",
    ),
    _CALENDAR,
)

# --- the log's view of the first submission, and the answers -----------------------------------------

COMMIT = Commit(
    commit_id="0195502a-6c1e-7d3a-9b41-3f0e8c2a5d10",
    kind="project",
    key=PROJECT_ID,
    number=1,
    prev_hash=GENESIS_HASH,
    events=[
        Envelope(
            event_id=event_id,
            project_id=PROJECT_ID,
            occurred_at=_at(3, 2, 9, 15),
            actor=WINDOW_ACTOR,
            source="window",
            correlation_id="BY-YW-2026-00001",
            causation_id="window-20260302-000001",
            event=event,
        )
        for event_id, event in (
            ("0195502a-6c1e-7d3a-9b41-3f0e8c2a5d11", _RECEIVED),
            ("0195502a-6c1e-7d3a-9b41-3f0e8c2a5d12", _OPENED),
        )
    ],
    source="window",
    idempotency_key="window-20260302-000001",
    # SHA-256 of the canonical bytes of SUBMISSIONS["SubmitApplication"].
    submission_hash="c84837f2fef559d41b0f008226e418d7660929babc4b61372a05eef875339838",
)
CALENDAR_COMMIT = Commit(
    commit_id="01942f3b-2a00-7c55-8e10-6b2d9f0c4e01",
    kind="calendar",
    key="2026",
    number=1,
    prev_hash=GENESIS_HASH,
    events=[
        Envelope(
            event_id="01942f3b-2a00-7c55-8e10-6b2d9f0c4e02",
            project_id=None,
            occurred_at=dt.datetime(2025, 11, 4, 16, 0, tzinfo=CST),
            actor="市规划和自然资源局办公室 孙悦",
            source="ops",
            event=_CALENDAR,
        )
    ],
)
"""An example (not a golden file): the year's calendar as the log carries it, on `calendar.2026`."""

COMMIT_HASH = "7512da14be159ee743f0fbeca29d6f5ae01a894c9b90985ad14fd527acf5cb9e"
"""SHA-256 of COMMIT's canonical bytes; pinned so a change of canonical encoding is noticed."""

ACCEPTED = Accepted(
    idempotency_key="window-20260302-000001",
    project_id=PROJECT_ID,
    event_ids=[envelope.event_id for envelope in COMMIT.events],
    project_version=1,
    commit_hash=COMMIT_HASH,
    recorded_at=dt.datetime(2026, 3, 2, 1, 15, 0, 418000, tzinfo=dt.UTC),
    duplicate=False,
)

REJECTED = Rejected(
    code="invalid_field",
    message="Expected `str`, got `int`",
    field="$.command.stage",
    idempotency_key="window-20260302-000003",
    project_id=PROJECT_ID,
)

GOLDEN: dict[str, object] = {
    **{type(event).__name__: event for event in EVENTS},
    **SUBMISSIONS,
    "Accepted": ACCEPTED,
    "Rejected": REJECTED,
    "Commit": COMMIT,
}
"""Golden file stem (without `.v1.json`) → the instance it encodes."""
