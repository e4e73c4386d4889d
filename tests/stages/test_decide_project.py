"""Spec: commands on unknown or withdrawn projects, withdrawal, and SubmitApplication."""

from __future__ import annotations

import pytest

from contracts import commands as cmd
from contracts import events as ev
from services.stages.domain import ProjectState
from tests.stages.given import given, received, refused, when

EVERY_WORKFLOW_COMMAND: list[cmd.AnyCommand] = [
    cmd.WithdrawApplication(reason="企业变更投资计划"),
    cmd.OpenStage(stage="site_selection"),
    cmd.PassStage(stage="site_selection"),
    cmd.ReturnStage(stage="site_selection", reason="x"),
    cmd.SuspendClock(stage="site_selection", reason="expert_review"),
    cmd.ResumeClock(stage="site_selection"),
    cmd.ExtendDeadline(stage="site_selection", extra_days=1, approved_by="局长", reason=""),
    cmd.SupplyDocuments(documents=["红线图"]),
    cmd.RaiseBlocker(blocker_id="b1", side="enterprise", cause="insufficient_funds", department="招商局"),
    cmd.UpdateBlocker(blocker_id="b1", goal="x"),
    cmd.ResolveBlocker(blocker_id="b1"),
]


@pytest.mark.parametrize("command", EVERY_WORKFLOW_COMMAND, ids=lambda c: type(c).__name__)
def test_every_command_on_an_unknown_project_is_refused(command: cmd.AnyCommand) -> None:
    r = refused(ProjectState(), command, "2026-03-02")
    assert r.code == "unknown_project"


@pytest.mark.parametrize("command", EVERY_WORKFLOW_COMMAND, ids=lambda c: type(c).__name__)
def test_every_command_on_a_withdrawn_project_is_refused(command: cmd.AnyCommand) -> None:
    r = refused(given(received(), ev.ApplicationWithdrawn(reason="企业资金不足")), command, "2026-03-02")
    assert (r.code, r.message) == (
        "project_withdrawn", "the project was withdrawn (企业资金不足); it accepts no more commands")


def test_withdrawing_records_the_reason() -> None:
    assert when(given(received()), cmd.WithdrawApplication(reason="企业变更投资计划"), "2026-03-02") == [
        ev.ApplicationWithdrawn(reason="企业变更投资计划")]


def test_a_withdrawal_needs_a_reason() -> None:
    r = refused(given(received()), cmd.WithdrawApplication(reason=""), "2026-03-02")
    assert (r.code, r.field) == ("invalid_field", "reason")


def test_submitting_an_application_records_the_first_stages_of_its_kind() -> None:
    c = cmd.SubmitApplication(name="村民住宅", enterprise="某村委会", district="巩义市", track="new",
                              project_kind="rural", missing_documents=["宅基地证明"])
    [e] = when(ProjectState(), c, "2026-03-02")
    assert isinstance(e, ev.ApplicationReceived)
    assert (e.first_stages, e.missing_documents) == (["rural_permit"], ["宅基地证明"])


def test_submitting_an_application_twice_is_a_duplicate() -> None:
    c = cmd.SubmitApplication(name="x", enterprise="y", district="z", track="new")
    assert refused(given(received()), c, "2026-03-02").code == "duplicate_project"
