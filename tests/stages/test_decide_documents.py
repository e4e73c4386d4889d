"""Spec: accepting with documents missing (容缺后补) and supplying them later."""

from __future__ import annotations

from contracts import commands as cmd
from contracts import events as ev
from tests.stages.given import d, given, opened, received, refused, when

MISSING = (received(), opened("site_selection", "2026-03-02", missing=["环评批复", "红线图"]))


def test_a_stage_accepted_with_missing_documents_sets_their_due_date() -> None:
    [e] = when(given(received()), cmd.OpenStage(stage="site_selection", missing_documents=["环评批复"]),
               "2026-03-02")
    assert isinstance(e, ev.StageOpened)
    assert (e.missing_documents, e.documents_due_on) == (["环评批复"], d("2026-03-09"))


def test_a_missing_document_needs_a_name() -> None:
    r = refused(given(received()), cmd.OpenStage(stage="site_selection", missing_documents=[" "]), "2026-03-02")
    assert (r.code, r.field) == ("invalid_field", "missing_documents")


def test_a_stage_cannot_pass_while_documents_are_missing() -> None:
    r = refused(given(*MISSING), cmd.PassStage(stage="site_selection"), "2026-03-04")
    assert r.message == "stage site_selection cannot pass: documents still missing: 环评批复, 红线图 (due 2026-03-09)"


def test_supplying_some_documents_leaves_the_rest_missing() -> None:
    [e] = when(given(*MISSING), cmd.SupplyDocuments(stage="site_selection", documents=["红线图"]), "2026-03-03")
    assert e == ev.DocumentsSupplemented(stage="site_selection", documents=["红线图"], supplied_on=d("2026-03-03"))
    assert given(*MISSING, e).open_stages["site_selection"].missing_documents == ("环评批复",)


def test_once_every_document_is_supplied_the_stage_can_pass() -> None:
    supplied = ev.DocumentsSupplemented(documents=["环评批复", "红线图"], supplied_on=d("2026-03-03"))
    [e] = when(given(*MISSING, supplied), cmd.PassStage(stage="site_selection"), "2026-03-04")
    assert isinstance(e, ev.StagePassed)


def test_a_document_that_is_not_missing_cannot_be_supplied() -> None:
    r = refused(given(*MISSING), cmd.SupplyDocuments(stage="site_selection", documents=["营业执照"]), "2026-03-03")
    assert (r.code, r.field) == ("rule_violation", "documents")
    assert r.message == "document '营业执照' is not missing for stage site_selection (missing: 环评批复, 红线图)"


def test_supplying_nothing_is_an_invalid_field() -> None:
    r = refused(given(*MISSING), cmd.SupplyDocuments(documents=[]), "2026-03-03")
    assert (r.code, r.field) == ("invalid_field", "documents")


def test_documents_for_a_stage_that_is_not_open_are_refused() -> None:
    r = refused(given(*MISSING), cmd.SupplyDocuments(stage="land_supply", documents=["红线图"]), "2026-03-03")
    assert r.message == "stage land_supply is not open"


def test_documents_missing_from_the_application_can_be_supplied_without_a_stage() -> None:
    s = given(received(missing_documents=["授权委托书"]))
    [e] = when(s, cmd.SupplyDocuments(documents=["授权委托书"]), "2026-03-03")
    assert given(received(missing_documents=["授权委托书"]), e).application_missing_documents == ()
