"""Spec: every refusal names the field to look at, in the publisher's terms, and the problem."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from pathlib import Path
from typing import NamedTuple, get_args

import msgspec
import pytest

from contracts import commands as cmd
from contracts import events as ev
from contracts.codec import encode, workflow_decoder
from contracts.commands import Submission, WorkflowRequest
from contracts.events import Document
from contracts.receipts import ErrorCode
from services.stages import refusal
from services.stages.domain import ProjectState
from services.stages.policy import Policy
from services.stages.refusal import decode_error_path, json_path
from tests.stages.given import NEW_AFTER_SITE, POLICY, d, given, opened, passed, received, refused

OPEN = (received(), opened("site_selection", "2026-09-28"))
SUSPENDED = (*OPEN, ev.ClockSuspended(stage="site_selection", reason="expert_review", suspended_on=d("2026-09-29")))
RESUMED = (*SUSPENDED, ev.ClockResumed(stage="site_selection", resumed_on=d("2026-10-12"), suspended_working_days=5,
                                       remaining_days=3, due_on=d("2026-10-15"), rule=""))
MISSING = (received(), opened("site_selection", "2026-03-02", missing=["红线图"]))
BLOCKER = ev.BlockerRaised(blocker_id="b1", side="government", cause="land_not_cleared", department="土地储备中心",
                           due_on=d("2026-04-30"))
RED_LINE = ev.BlockerRaised(blocker_id="r1", side="government", cause="red_line_unstable", department="规划选址科",
                            due_on=d("2026-04-30"))
FIVE_PERMITS = dataclasses.replace(POLICY, stages={
    **POLICY.stages,
    **{c: dataclasses.replace(POLICY.stages[c], issue_together="five_permits") for c in ("land_supply",
                                                                                         "planning_permit")}})


def blocker(**kw: object) -> cmd.RaiseBlocker:
    fields: dict[str, object] = {"blocker_id": "b2", "side": "government", "cause": "land_not_cleared",
                                 "department": "土地储备中心", "due_on": d("2026-04-30")}
    return cmd.RaiseBlocker(**{**fields, **kw})  # type: ignore[arg-type]


class Case(NamedTuple):
    name: str
    state: tuple[ev.DomainEvent, ...]
    command: cmd.AnyCommand
    on: str
    code: str
    field: str
    path: str  # as the publisher sees it in the Rejected receipt


# The contract's paths, written out here (not computed by json_path, which the cases check): the
# submission's own fields sit at the top, every other field the domain names is a field of the command.
TOP_LEVEL = {"project_id": "$.project_id", "occurred_at": "$.occurred_at"}


def case(name: str, state: tuple[ev.DomainEvent, ...], command: cmd.AnyCommand, on: str, code: str,
         field: str) -> Case:
    return Case(name, state, command, on, code, field, TOP_LEVEL.get(field, f"$.command.{field}"))


SITE = "site_selection"
CASES = [
    # the project
    case("unknown project", (), cmd.OpenStage(stage=SITE), "2026-03-02", "unknown_project", "project_id"),
    case("withdrawn project", (received(), ev.ApplicationWithdrawn(reason="x")), cmd.OpenStage(stage=SITE),
         "2026-03-02", "project_withdrawn", "project_id"),
    case("duplicate project", (received(),), cmd.SubmitApplication(name="x", enterprise="y", district="z", track="new"),
         "2026-03-02", "duplicate_project", "project_id"),
    case("withdrawal without a reason", (received(),), cmd.WithdrawApplication(reason=" "), "2026-03-02",
         "invalid_field", "reason"),
    case("year without a calendar", NEW_AFTER_SITE, cmd.OpenStage(stage="land_use_approval"), "2026-12-20",
         "rule_violation", "occurred_at"),
    # opening
    case("unknown stage", (received(),), cmd.OpenStage(stage="demolition"), "2026-03-02", "invalid_field", "stage"),
    case("stage of the other track", (received(),), cmd.OpenStage(stage="land_guarantee"), "2026-03-02",
         "rule_violation", "stage"),
    case("already open", OPEN, cmd.OpenStage(stage=SITE), "2026-09-29", "rule_violation", "stage"),
    case("already passed", NEW_AFTER_SITE, cmd.OpenStage(stage=SITE), "2026-03-05", "rule_violation", "stage"),
    case("prerequisite not passed", (received(),), cmd.OpenStage(stage="land_supply"), "2026-03-02",
         "rule_violation", "stage"),
    case("missing document without a name", (received(),), cmd.OpenStage(stage=SITE, missing_documents=[" "]),
         "2026-03-02", "invalid_field", "missing_documents"),
    # passing and returning
    case("not open", (received(),), cmd.PassStage(stage=SITE), "2026-03-02", "rule_violation", "stage"),
    case("before it opened", OPEN, cmd.PassStage(stage=SITE), "2026-09-25", "rule_violation", "occurred_at"),
    case("before the clock resumed", RESUMED, cmd.PassStage(stage=SITE), "2026-10-08", "rule_violation",
         "occurred_at"),
    case("document of another kind", OPEN, cmd.PassStage(stage=SITE, document=Document(kind="rural_planning_permit")),
         "2026-09-29", "invalid_field", "document.kind"),
    case("prerequisite still open", (*NEW_AFTER_SITE, opened("land_use_approval", "2026-03-05"),
                                     opened("land_supply", "2026-03-05")),
         cmd.PassStage(stage="land_supply"), "2026-03-06", "rule_violation", "stage"),
    case("documents still missing", MISSING, cmd.PassStage(stage=SITE), "2026-03-04", "rule_violation", "stage"),
    case("red line unstable", (*NEW_AFTER_SITE, opened("land_use_approval", "2026-03-05"), RED_LINE),
         cmd.PassStage(stage="land_use_approval"), "2026-03-20", "rule_violation", "stage"),
    case("return without a reason", OPEN, cmd.ReturnStage(stage=SITE, reason=" "), "2026-09-29", "invalid_field",
         "reason"),
    case("return before the clock resumed", RESUMED, cmd.ReturnStage(stage=SITE, reason="x"), "2026-10-08",
         "rule_violation", "occurred_at"),
    # the clock
    case("already suspended", SUSPENDED, cmd.SuspendClock(stage=SITE, reason="public_notice"), "2026-09-30",
         "rule_violation", "stage"),
    case("suspension inside an earlier one", RESUMED, cmd.SuspendClock(stage=SITE, reason="public_notice"),
         "2026-10-08", "rule_violation", "occurred_at"),
    case("not suspended", OPEN, cmd.ResumeClock(stage=SITE), "2026-09-30", "rule_violation", "stage"),
    case("resumed before it stopped", SUSPENDED, cmd.ResumeClock(stage=SITE), "2026-09-28", "rule_violation",
         "occurred_at"),
    case("extension of no days", OPEN, cmd.ExtendDeadline(stage=SITE, extra_days=0, approved_by="局长", reason=""),
         "2026-10-08", "invalid_field", "extra_days"),
    case("extension without an approver", OPEN,
         cmd.ExtendDeadline(stage=SITE, extra_days=1, approved_by=" ", reason=""), "2026-10-08", "invalid_field",
         "approved_by"),
    case("extension over the cap", OPEN, cmd.ExtendDeadline(stage=SITE, extra_days=11, approved_by="局长", reason=""),
         "2026-10-08", "rule_violation", "extra_days"),
    # documents
    case("no documents", MISSING, cmd.SupplyDocuments(documents=[]), "2026-03-03", "invalid_field", "documents"),
    case("document not missing", MISSING, cmd.SupplyDocuments(stage=SITE, documents=["营业执照"]), "2026-03-03",
         "rule_violation", "documents"),
    # blockers
    case("blocker id used", (received(), BLOCKER), blocker(blocker_id="b1"), "2026-03-02", "invalid_field",
         "blocker_id"),
    case("cause of the other side", (received(),), blocker(cause="weak_willingness"), "2026-03-02", "invalid_field",
         "cause"),
    case("other without a text", (received(),), blocker(cause="other"), "2026-03-02", "invalid_field", "cause_text"),
    case("blocker without a department", (received(),), blocker(department=" "), "2026-03-02", "invalid_field",
         "department"),
    case("government blocker without a due date", (received(),), blocker(due_on=None), "2026-03-02",
         "invalid_field", "due_on"),
    case("blocker about an unknown stage", (received(),), blocker(stage="demolition"), "2026-03-02",
         "invalid_field", "stage"),
    case("unknown blocker", (received(),), cmd.ResolveBlocker(blocker_id="b9"), "2026-03-02", "invalid_field",
         "blocker_id"),
    case("blocker already resolved", (received(), BLOCKER, ev.BlockerResolved(blocker_id="b1",
                                                                              resolved_on=d("2026-03-03"))),
         cmd.ResolveBlocker(blocker_id="b1"), "2026-03-04", "rule_violation", "blocker_id"),
    case("update that changes nothing", (received(), BLOCKER), cmd.UpdateBlocker(blocker_id="b1"), "2026-03-02",
         "invalid_field", "blocker_id"),
]
POLICY_CASES = [
    (case("issued together with a stage not open",
          (*NEW_AFTER_SITE, passed("land_use_approval", "2026-03-10"), passed("planning_conditions", "2026-03-05"),
           opened("land_supply", "2026-03-10", policy=FIVE_PERMITS)),
          cmd.PassStage(stage="land_supply"), "2026-03-12", "rule_violation", "stage"), FIVE_PERMITS),
]
ALL = [(c, POLICY) for c in CASES] + POLICY_CASES


@pytest.mark.parametrize(("c", "policy"), ALL, ids=[c.name for c, _ in ALL])
def test_every_refusal_names_its_field(c: Case, policy: Policy) -> None:
    r = refused(given(*c.state) if c.state else ProjectState(), c.command, c.on, policy=policy)
    assert (r.code, r.field) == (c.code, c.field), r.message
    assert r.message.strip()
    assert json_path(r.field) == c.path and c.path.startswith("$.")


ADAPTERS = {"app.py", "handlers.py"}  # they answer 'malformed' and 'concurrency_exhausted' themselves


def codes_the_stages_service_refuses_with() -> set[str]:
    """Every receipt code spelled out in the stages domain's source (services/stages, less its adapters)."""
    known = set(get_args(ErrorCode))
    return {code for path in Path(refusal.__file__).parent.glob("*.py") if path.name not in ADAPTERS
            for code in re.findall(r"[\"']([a-z_]+)[\"']", path.read_text(encoding="utf-8")) if code in known}


def test_the_cases_cover_every_code_the_stages_domain_refuses_with() -> None:
    assert {c.code for c, _ in ALL} == {"unknown_project", "project_withdrawn", "duplicate_project", "invalid_field",
                                        "rule_violation"}
    # ... and those are the codes the stages service's source refuses with: a new one there needs a case here
    produced = codes_the_stages_service_refuses_with()
    assert produced <= set(get_args(ErrorCode))
    assert produced == {c.code for c, _ in ALL}


@pytest.mark.parametrize(("field", "path"), [
    ("project_id", "$.project_id"), ("occurred_at", "$.occurred_at"), ("command", "$.command"),
    ("stage", "$.command.stage"), ("document.kind", "$.command.document.kind"), ("$.actor", "$.actor"),
])
def test_a_field_is_given_to_the_publisher_as_a_json_path(field: str, path: str) -> None:
    assert json_path(field) == path


def test_a_workflow_request_that_does_not_decode_names_the_path_in_the_submission() -> None:
    at = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)
    good = WorkflowRequest(source="window", received_at=at, submission=Submission(
        idempotency_key="k", project_id="P-1", occurred_at=at, actor="李科员", command=cmd.OpenStage(stage=SITE)))
    raw = msgspec.json.decode(encode(good))
    raw["submission"]["command"]["stage"] = 7
    with pytest.raises(msgspec.DecodeError) as info:
        workflow_decoder.decode(msgspec.json.encode(raw))
    assert decode_error_path(info.value) == "$.command.stage"
    del raw["submission"]["command"]["stage"]  # a missing field is named, not only the object that lacks it
    with pytest.raises(msgspec.DecodeError) as info:
        workflow_decoder.decode(msgspec.json.encode(raw))
    assert decode_error_path(info.value) == "$.command.stage"
    with pytest.raises(msgspec.DecodeError) as info:
        workflow_decoder.decode(b"not json")
    assert decode_error_path(info.value) == "$"
