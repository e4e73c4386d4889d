"""Property: random and mutated payloads are each refused, recorded, and change nothing."""

from __future__ import annotations

import asyncio
import copy
import json
import uuid
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nats.aio.client import Client as NATS

from contracts.codec import decode_receipt
from contracts.commands import COMMAND_TYPES
from contracts.receipts import Accepted, Rejected
from contracts.subjects import Subjects
from ledger.eventlog import EventLog
from ledger.rejected import read_rejected
from services.intake.app import Running
from tests.intake import builders as b

BATCH, BATCHES = 100, 22
REQUIRED = {"SubmitApplication": ["name", "enterprise", "district", "track"], "WithdrawApplication": ["reason"],
            "SupplyDocuments": ["documents"], "PassStage": ["stage"]}
STRINGS = ["idempotency_key", "project_id", "occurred_at", "actor"]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)
not_a_string = json_values.filter(lambda v: not isinstance(v, str))


MAKERS: list[Callable[..., dict[str, Any]]] = [b.submit_app, b.withdraw, b.supply, b.pass_stage]


@st.composite
def valid(draw: st.DrawFn) -> dict[str, Any]:
    maker: Callable[..., dict[str, Any]] = draw(st.sampled_from(MAKERS))
    return maker("P-seed", key=str(uuid.uuid4()))


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, bytes]:
    doc = copy.deepcopy(draw(valid()))
    cmd = doc["command"]
    how = draw(st.sampled_from(["drop", "drop_cmd", "retype", "retype_cmd", "bad_id", "huge", "bad_time",
                                "bad_tag", "future", "wrong_source", "not_object"]))
    if how == "drop":
        del doc[draw(st.sampled_from([*STRINGS, "command"]))]
    elif how == "drop_cmd":
        del cmd[draw(st.sampled_from(["type", *REQUIRED[cmd["type"]]]))]
    elif how == "retype":
        doc[draw(st.sampled_from([*STRINGS, "command"]))] = draw(not_a_string.filter(lambda v: not isinstance(v, dict)))
    elif how == "retype_cmd":
        field = draw(st.sampled_from(REQUIRED[cmd["type"]]))
        cmd[field] = draw(not_a_string.filter(lambda v: not isinstance(v, list) or field != "documents"))
        if field == "documents":
            cmd[field] = draw(st.lists(not_a_string, min_size=1, max_size=3))
    elif how == "bad_id":
        doc["project_id"] = draw(st.text(max_size=10)) + draw(st.sampled_from(["项目", ".", " ", "*", "é", "x" * 70]))
    elif how == "huge":
        doc[draw(st.sampled_from(["actor", "correlation_id"]))] = "字" * 30_000 + draw(st.text(max_size=5))
    elif how == "bad_time":
        doc["occurred_at"] = draw(st.sampled_from(["2026-03-02T09:30:00", "2026-13-01T00:00:00Z", "yesterday", ""]))
    elif how == "bad_tag":
        cmd["type"] = draw(st.text(max_size=20).filter(lambda t: t not in {c.__name__ for c in COMMAND_TYPES}))
    elif how == "future":
        doc["occurred_at"] = f"20{draw(st.integers(30, 99))}-01-01T00:00:00Z"
    elif how == "not_object":
        return "window", json.dumps(draw(json_values.filter(lambda v: not isinstance(v, dict)))).encode()
    return ("ghost" if how == "wrong_source" else "window"), b.raw(doc)


payloads = st.one_of(
    mutated(),
    st.binary(max_size=300).map(lambda raw: ("window", raw)),
    st.text(max_size=200).map(lambda t: ("landsys", t.encode())),
)


async def test_random_and_mutated_payloads_are_all_refused_and_recorded(
    intake: Running, window: NATS, admin: NATS, subjects: Subjects, log: EventLog
) -> None:
    seed = await admin.request(subjects.submit("window"), b.raw(b.submit_app("P-seed")), timeout=5)
    assert isinstance(decode_receipt(seed.data), Accepted)
    before = await log.last_seq()
    loop = asyncio.get_running_loop()
    sent: list[tuple[str, bytes, Rejected]] = []

    async def send_all(batch: list[tuple[str, bytes]]) -> list[Accepted | Rejected]:
        replies = await asyncio.gather(*(admin.request(subjects.submit(s), raw, timeout=20) for s, raw in batch))
        return [decode_receipt(r.data) for r in replies]

    @settings(max_examples=BATCHES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example])
    @given(st.lists(payloads, min_size=BATCH, max_size=BATCH))
    def each_batch_is_refused(batch: list[tuple[str, bytes]]) -> None:
        receipts = asyncio.run_coroutine_threadsafe(send_all(batch), loop).result(120)
        for (source, raw), receipt in zip(batch, receipts, strict=True):
            assert isinstance(receipt, Rejected), (source, raw[:300], receipt)
            sent.append((source, raw, receipt))

    await asyncio.to_thread(each_batch_is_refused)
    assert len(sent) >= 2000
    assert await log.last_seq() == before, "the event log is unchanged"
    entries = await read_rejected(admin, subjects)
    assert sorted((e.source, e.raw, e.code) for e in entries) == sorted((s, raw, r.code) for s, raw, r in sent)
    still = await window.request(subjects.submit("window"), b.raw(b.submit_app("P-after")), timeout=5)
    assert isinstance(decode_receipt(still.data), Accepted), "intake keeps serving"
