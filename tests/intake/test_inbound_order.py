"""Fire-and-forget: a project's messages are judged in stream order even across a nak, and a message
whose parsing raises is settled on its own without holding up its batch."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg

from contracts.codec import encode, workflow_decoder
from contracts.commands import OpenStage, PassStage, Submission
from contracts.receipts import Accepted, Rejected
from contracts.subjects import Subjects
from ledger.rejected import read_rejected
from services.intake import app, handlers, streams, validate
from services.intake.app import ProjectOrder, running
from tests.intake import builders as b
from tests.intake.conftest import AuthServer, collect_receipts, intake_config, login, wait_for


class SlowFirstStages:
    """Stands in for stages: leaves each OpenStage's first request unanswered (intake times out and
    naks it), answers it from then on; a PassStage of a stage not open is refused for good. Like stages, it
    answers a key it has judged with the same receipt again (a redelivery after a reply that came too late
    on a slow machine is not judged twice)."""

    def __init__(self) -> None:
        self.open: set[tuple[str, str]] = set()
        self.ignored: set[str] = set()
        self.judged: list[tuple[str, str]] = []  # (command, code or "accepted") in the order judged
        self.answers: dict[str, bytes] = {}

    async def on_request(self, msg: Msg) -> None:
        sub = workflow_decoder.decode(msg.data).submission
        command = sub.command
        assert isinstance(command, OpenStage | PassStage)
        if sub.idempotency_key in self.answers:
            await msg.respond(self.answers[sub.idempotency_key])
            return
        if isinstance(command, OpenStage) and sub.idempotency_key not in self.ignored:
            self.ignored.add(sub.idempotency_key)
            return
        if isinstance(command, OpenStage):
            self.open.add((sub.project_id, command.stage))
        if (sub.project_id, command.stage) not in self.open:  # a PassStage of a stage not open
            self.judged.append((type(command).__name__, "rule_violation"))
            answer = encode(Rejected(code="rule_violation", message=f"stage {command.stage} is not open",
                                     idempotency_key=sub.idempotency_key, project_id=sub.project_id))
        else:
            self.judged.append((type(command).__name__, "accepted"))
            answer = encode(Accepted(idempotency_key=sub.idempotency_key, project_id=sub.project_id,
                                     event_ids=[uuid.uuid4().hex], project_version=len(self.judged),
                                     commit_hash="0" * 64))
        self.answers[sub.idempotency_key] = answer
        await msg.respond(answer)


@pytest.fixture
async def stages_nc(auth_server: AuthServer) -> AsyncIterator[NATS]:
    nc = await login(auth_server, "stages")
    yield nc
    await nc.drain()


def open_stage(pid: str, stage: str = "land_supply") -> dict[str, Any]:
    return {**b.pass_stage(pid, stage), "command": {"type": "OpenStage", "stage": stage}}


@pytest.mark.parametrize("fetched", ["in one batch", "one at a time"])
async def test_a_projects_later_message_waits_for_its_earlier_one_that_stages_timed_out_on(
    fetched: str, auth_server: AuthServer, admin: NATS, window: NATS, stages_nc: NATS, subjects: Subjects,
    database_url: str, pg_schema: str,
) -> None:
    stages = SlowFirstStages()
    await stages_nc.subscribe(subjects.stages_commands, cb=stages.on_request, queue="stages")
    receipts = await collect_receipts(window, subjects)
    js, inbound = window.jetstream(), subjects.inbound("window")
    first, then = open_stage("O-1"), b.pass_stage("O-1")
    if fetched == "in one batch":  # both wait in the stream until intake starts
        await streams.provision(admin.jetstream(), subjects)
        await js.publish(inbound, b.raw(first))
        await js.publish(inbound, b.raw(then))
    async with running(intake_config(auth_server, subjects, database_url, pg_schema, stages_timeout=1.0)):
        if fetched == "one at a time":  # the PassStage arrives while stages keeps intake waiting on the OpenStage
            await js.publish(inbound, b.raw(first))
            await wait_for(lambda: stages.ignored)
            await js.publish(inbound, b.raw(then))
        await wait_for(lambda: len(receipts) >= 2, within=20)
    assert [(type(r).__name__, r.idempotency_key) for r in receipts] == [
        ("Accepted", first["idempotency_key"]), ("Accepted", then["idempotency_key"])]
    assert stages.judged == [("OpenStage", "accepted"), ("PassStage", "accepted")]
    assert await read_rejected(admin, subjects) == []


async def test_a_message_whose_parse_raises_is_answered_and_acked_and_its_batch_settled(
    monkeypatch: pytest.MonkeyPatch, auth_server: AuthServer, admin: NATS, window: NATS, subjects: Subjects,
    database_url: str, pg_schema: str,
) -> None:
    bad = b.raw(b.submit_app("P-bad"))
    real_parse = validate.parse

    def parse(raw: bytes, *, max_bytes: int = validate.MAX_BYTES) -> Submission | Rejected:
        if raw == bad:  # as msgspec does on deeply nested JSON (RecursionError is none of parse's handled errors)
            raise RecursionError("maximum recursion depth exceeded")
        return real_parse(raw, max_bytes=max_bytes)

    monkeypatch.setattr(app, "parse", parse)
    monkeypatch.setattr(handlers, "parse", parse)
    receipts = await collect_receipts(window, subjects)
    await streams.provision(admin.jetstream(), subjects)
    js = window.jetstream()
    for body in (b.raw(b.submit_app("P-1")), bad, b.raw(b.submit_app("P-2"))):  # one batch when intake starts
        await js.publish(subjects.inbound("window"), body)
    async with running(intake_config(auth_server, subjects, database_url, pg_schema)):
        await wait_for(lambda: len(receipts) >= 3)

        async def all_acked_first_time() -> bool:
            info = await admin.jetstream().consumer_info(subjects.inbound_stream, "intake")
            return info.ack_floor.stream_seq == 3 and info.num_ack_pending == 0 and not info.num_redelivered

        await wait_for(all_acked_first_time)
    assert sorted(r.project_id for r in receipts if isinstance(r, Accepted)) == ["P-1", "P-2"]
    assert [r.code for r in receipts if isinstance(r, Rejected)] == ["internal_error"]
    assert [(e.code, e.raw) for e in await read_rejected(admin, subjects)] == [("internal_error", bad)]


def test_a_project_waits_only_for_its_first_unsettled_message_and_only_for_a_while() -> None:
    now = [0.0]
    order = ProjectOrder(hold=30.0, clock=lambda: now[0])
    order.outcome("P", 5, settled=False)
    assert order.waits("P", 6) and not order.waits("P", 5) and not order.waits("P", 4) and not order.waits("Q", 6)
    order.outcome("P", 4, settled=True)  # an earlier one settling does not release the later ones
    assert order.waits("P", 6)
    order.outcome("P", 5, settled=True)
    assert not order.waits("P", 6)
    order.outcome("P", 5, settled=False)
    now[0] = 29.0
    order.outcome("P", 5, settled=False)  # nak'd again here: held 30 s from now
    now[0] = 58.0
    order.expire()
    assert order.waits("P", 6)
    now[0] = 59.5
    order.expire()  # not seen again here for 30 s (another replica may have it): the later ones go on
    assert not order.waits("P", 6)
