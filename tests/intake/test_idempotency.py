"""Same key + same payload → the original receipt, one append; other payload → conflict; across restarts."""

from __future__ import annotations

import asyncio

import msgspec
from nats.aio.client import Client as NATS

from contracts.codec import decode_receipt
from contracts.receipts import Accepted, Rejected
from contracts.subjects import Subjects
from ledger.eventlog import EventLog
from services.intake.app import Running, running
from tests.intake import builders as b
from tests.intake.conftest import AuthServer, intake_config
from tests.intake.standin import StagesStandIn


async def send(nc: NATS, subjects: Subjects, body: dict[str, object]) -> Accepted | Rejected:
    return decode_receipt((await nc.request(subjects.submit("window"), b.raw(body), timeout=10)).data)


def same_commit(a: Accepted | Rejected, b_: Accepted | Rejected) -> bool:
    assert isinstance(a, Accepted) and isinstance(b_, Accepted)
    return msgspec.structs.replace(a, duplicate=False) == msgspec.structs.replace(b_, duplicate=False)


async def test_same_key_and_payload_returns_the_original_receipt_and_appends_once(
    intake: Running, window: NATS, subjects: Subjects, log: EventLog
) -> None:
    body = b.submit_app("P-1", key="once")
    first = await send(window, subjects, body)
    again = await send(window, subjects, body)
    assert isinstance(first, Accepted) and not first.duplicate
    assert isinstance(again, Accepted) and again.duplicate and same_commit(first, again)
    assert len((await log.load_project("P-1")).records) == 1


async def test_concurrent_retries_of_one_submission_land_once(
    intake: Running, window: NATS, subjects: Subjects, log: EventLog
) -> None:
    body = b.submit_app("P-2", key="burst")
    receipts = await asyncio.gather(*(send(window, subjects, body) for _ in range(20)))
    assert all(isinstance(r, Accepted) for r in receipts)
    assert sum(1 for r in receipts if isinstance(r, Accepted) and not r.duplicate) == 1
    assert all(same_commit(receipts[0], r) for r in receipts)
    assert len((await log.load_project("P-2")).records) == 1


async def test_same_key_with_another_payload_is_a_conflict(
    intake: Running, window: NATS, subjects: Subjects, log: EventLog
) -> None:
    await send(window, subjects, b.submit_app("P-3", key="k"))
    other_project = await send(window, subjects, b.submit_app("P-3x", key="k"))
    other_actor = await send(window, subjects, b.submit_app("P-3", key="k", actor="别人"))
    for r in (other_project, other_actor):
        assert isinstance(r, Rejected) and r.code == "idempotency_conflict"
    assert (await log.load_project("P-3x")).records == []


async def test_key_order_and_whitespace_are_not_a_different_payload(
    intake: Running, window: NATS, subjects: Subjects
) -> None:
    body = b.submit_app("P-4", key="fmt")
    first = await send(window, subjects, body)
    shuffled = dict(reversed(list(body.items())))
    msg = await window.request(subjects.submit("window"), msgspec.json.format(b.raw(shuffled), indent=4), timeout=5)
    again = decode_receipt(msg.data)
    assert isinstance(again, Accepted) and again.duplicate and same_commit(first, again)


async def test_keys_survive_an_intake_restart_through_the_index(
    auth_server: AuthServer, admin: NATS, window: NATS, subjects: Subjects, log: EventLog,
    database_url: str, pg_schema: str, stages: StagesStandIn,
) -> None:
    config = intake_config(auth_server, subjects, database_url, pg_schema)
    async with running(config) as app:
        first = await send(window, subjects, b.submit_app("P-5", key="old"))
        supplied = await send(window, subjects, b.supply("P-5", key="wf-old"))
        assert isinstance(supplied, Accepted)
        await asyncio.wait_for(app.indexer.wait_applied(supplied.project_version), 10)
    async with running(config) as app:
        assert app.indexer.applied >= supplied.project_version  # resumed from its tracking row
        entry = await app.ports.keys.lookup("window", "old")
        assert entry is not None and same_commit(entry.receipt, first)
        again = await send(window, subjects, b.submit_app("P-5", key="old"))
        assert isinstance(again, Accepted) and again.duplicate and same_commit(first, again)
        requests = stages.requests
        wf_again = await send(window, subjects, b.supply("P-5", key="wf-old"))
        assert stages.requests == requests, "a known workflow key is answered from the index"
        assert isinstance(wf_again, Accepted) and wf_again.duplicate and same_commit(supplied, wf_again)
        conflict = await send(window, subjects, b.submit_app("P-5y", key="old"))
        assert isinstance(conflict, Rejected) and conflict.code == "idempotency_conflict"
    assert len((await log.load_project("P-5")).records) == 2
