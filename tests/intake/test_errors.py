"""Every error code of the contract, produced through the real server with the generated auth config."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from nats.aio.client import Client as NATS

from contracts.codec import decode_receipt
from contracts.envelope import Commit
from contracts.events import DocumentsSupplemented
from contracts.receipts import ERROR_CODES, Accepted, Rejected
from contracts.subjects import Subjects
from ledger.eventlog import AppendResult, EventLog
from ledger.rejected import read_rejected
from services.intake.app import Running
from tests.factories import commit_after, envelope
from tests.intake import builders as b
from tests.intake.conftest import AuthServer, login
from tests.intake.standin import StagesStandIn

produced: set[str] = set()


async def send(
    nc: NATS, subjects: Subjects, body: bytes | dict[str, Any], source: str = "window"
) -> Accepted | Rejected:
    data = body if isinstance(body, bytes) else b.raw(body)
    msg = await nc.request(subjects.submit(source), data, timeout=10)
    receipt = decode_receipt(msg.data)
    if isinstance(receipt, Rejected):
        produced.add(receipt.code)
    return receipt


async def rejected(nc: NATS, subjects: Subjects, body: bytes | dict[str, Any], code: str, **kw: Any) -> Rejected:
    receipt = await send(nc, subjects, body, **kw)
    assert isinstance(receipt, Rejected), receipt
    assert receipt.code == code, receipt
    return receipt


async def test_bytes_and_shapes(intake: Running, window: NATS, subjects: Subjects, admin: NATS) -> None:
    assert (await rejected(window, subjects, b"{not json", "malformed")).field == "$"  # the message as a whole
    assert (await rejected(window, subjects, b"[1, 2]", "malformed")).field == "$"
    deep = b'{"extra": ' + b"[" * 5000 + b"]" * 5000 + b"}"  # msgspec raises RecursionError, not a DecodeError
    too_deep = await rejected(window, subjects, deep, "malformed")
    assert "nested too deeply" in too_deep.message and too_deep.field == "$"
    deep_command = b'{"idempotency_key": "k", "command": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    assert (await rejected(window, subjects, deep_command, "invalid_field")).field == "$.command"
    bad = b.pass_stage("P-1")
    bad["command"]["stage"] = 7
    r = await rejected(window, subjects, bad, "invalid_field")
    assert r.field == "$.command.stage" and "Expected `str`, got `int`" in r.message and r.project_id == "P-1"
    missing = b.submit_app("P-1")
    del missing["actor"]
    assert (await rejected(window, subjects, missing, "invalid_field")).field == "$.actor"
    huge = b.submit_app("P-1")
    huge["command"]["station"] = "站" * 40_000
    assert (await rejected(window, subjects, huge, "too_large")).field == "$"
    future = b.submit_app("P-1", occurred_at="2027-01-01T00:00:00Z")
    assert (await rejected(window, subjects, future, "occurred_in_future")).field == "$.occurred_at"
    entries = await read_rejected(admin, subjects)
    assert [e.code for e in entries] == ["malformed", "malformed", "malformed", "invalid_field", "invalid_field",
                                         "invalid_field", "too_large", "occurred_in_future"]
    assert entries[0].raw == b"{not json" and entries[0].source == "window"
    assert entries[2].raw == deep and entries[4].field == "$.command.stage"


async def test_project_rules(intake: Running, window: NATS, subjects: Subjects, log: EventLog) -> None:
    assert isinstance(await send(window, subjects, b.submit_app("P-2")), Accepted)
    await rejected(window, subjects, b.submit_app("P-2"), "duplicate_project")
    await rejected(window, subjects, b.withdraw("P-nope"), "unknown_project")
    assert isinstance(await send(window, subjects, b.withdraw("P-2")), Accepted)
    await rejected(window, subjects, b.withdraw("P-2"), "project_withdrawn")
    assert len((await log.load_project("P-2")).records) == 2


async def test_idempotency_conflict(intake: Running, window: NATS, subjects: Subjects) -> None:
    await send(window, subjects, b.submit_app("P-3", key="k-1"))
    other = b.submit_app("P-3", key="k-1", actor="someone else")
    r = await rejected(window, subjects, other, "idempotency_conflict")
    assert r.field == "$.idempotency_key"


async def test_forbidden_source(intake: Running, auth_server: AuthServer, subjects: Subjects, admin: NATS) -> None:
    registry = await login(auth_server, "registry")
    try:
        r = await rejected(registry, subjects, b.submit_app("P-4"), "forbidden_source", source="registry")
        assert "SupplyDocuments" in r.message
    finally:
        await registry.close()
    # a subject for a source nobody registered (only an admin can even publish there)
    await rejected(admin, subjects, b.submit_app("P-4"), "forbidden_source", source="ghost")


async def test_workflow_codes_come_from_stages(
    intake: Running, stages: StagesStandIn, window: NATS, subjects: Subjects
) -> None:
    await rejected(window, subjects, b.supply("P-5"), "unknown_project")
    await send(window, subjects, b.submit_app("P-5"))
    r = await rejected(window, subjects, b.pass_stage("P-5", "land_supply"), "rule_violation")
    assert r.field == "$.command.stage"
    await rejected(window, subjects, b.pass_stage("P-5", "garbage"), "internal_error")
    ok = await send(window, subjects, b.supply("P-5"))
    assert isinstance(ok, Accepted) and ok.project_version > 0


async def test_unavailable_when_stages_is_down(intake: Running, window: NATS, subjects: Subjects) -> None:
    await send(window, subjects, b.submit_app("P-6"))
    r = await rejected(window, subjects, b.supply("P-6"), "unavailable")
    assert "stages" in r.message and "same idempotency_key" in r.message


async def test_concurrency_exhausted(intake: Running, window: NATS, subjects: Subjects, log: EventLog) -> None:
    """A competing writer lands on the project just before every one of intake's appends."""
    await send(window, subjects, b.submit_app("P-7"))
    real_append = intake.ports.log.append

    async def racing_append(commit: Commit, *, expected_version: int) -> AppendResult:
        loaded = await log.load_project(commit.key)
        event = DocumentsSupplemented(documents=["补充材料"], supplied_on=dt.date(2026, 3, 2))
        await log.append(commit_after(loaded, commit.key, [envelope(commit.key, event)]),
                         expected_version=loaded.version)
        return await real_append(commit, expected_version=expected_version)

    intake.ports.log.append = racing_append  # type: ignore[method-assign]
    try:
        r = await rejected(window, subjects, b.withdraw("P-7"), "concurrency_exhausted")
        assert "retry with the same idempotency_key" in r.message
    finally:
        intake.ports.log.append = real_append  # type: ignore[method-assign]


def test_every_error_code_was_produced() -> None:
    """Runs last in this module (pytest keeps file order)."""
    missing = set(ERROR_CODES) - produced
    if len(produced) == 0:
        pytest.skip("run with the whole module")
    assert not missing, f"never produced through the server: {sorted(missing)}"
