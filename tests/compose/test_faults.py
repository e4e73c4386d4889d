"""Faults through the compose topology while publishers submit continuously: nothing acknowledged is lost or doubled."""

from __future__ import annotations

import asyncio
import signal
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import msgspec
import pytest
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg

from contracts.receipts import Accepted, Rejected
from tests.compose import client as c
from tests.compose.load import Load, audit
from tests.compose.receiver import Hook
from tests.compose.topology import Topology
from tests.intake import builders as b
from tests.waiting import eventually


@dataclass
class Clients:
    source: NATS
    admin: NATS
    db: asyncpg.Connection


@pytest.fixture
async def clients(topology: Topology) -> AsyncIterator[Clients]:
    made = Clients(await c.as_source(topology), await c.as_admin(topology),
                   await asyncpg.connect(c.database_url(topology)))
    try:
        yield made
    finally:
        await made.source.close()
        await made.admin.close()
        await made.db.close()


def report(capsys: pytest.CaptureFixture[str], line: str) -> None:
    with capsys.disabled():
        print("\n" + line)


async def restarted(topology: Topology, service: str, replica: int, starts_before: int) -> None:
    child = topology.children[service][replica]

    async def again() -> bool:
        return child.starts > starts_before and await topology.healthy(service, replica)
    await eventually(again, within=60, what=f"{service}-{replica} restarted and healthy", poll=0.2)


async def test_kill_9_the_stream_leader_node_loses_no_acknowledged_submission(
        topology: Topology, clients: Clients, capsys: pytest.CaptureFixture[str]) -> None:
    load = Load(clients.source)
    await load.acked_at_least(50)
    info = await clients.admin.jetstream().stream_info(c.SUBJECTS.events_stream)
    assert info.cluster is not None and info.cluster.leader in topology.nats
    leader = info.cluster.leader
    topology.nats[leader].kill()
    await load.more(100, within=90)  # two of three nodes keep the R3 log writable
    topology.nats[leader].start()
    await topology.wait_healthy(leader)
    await load.more(50, within=60)
    result = await audit(await load.finish(), clients.admin, clients.db)
    report(capsys, result.line(f"kill -9 NATS node {leader} (stream leader)"))
    assert result.lost == 0 and result.duplicates == 0


async def test_kill_9_each_service_in_turn_keeps_the_ledger_equal_to_a_clean_rebuild_and_alerts_single(
        topology: Topology, clients: Clients, hook: Hook, capsys: pytest.CaptureFixture[str]) -> None:
    load = Load(clients.source)
    await load.acked_at_least(30)
    for service in ("intake", "stages", "projections", "notify"):
        before = topology.children[service][0].starts
        topology.kill_service(service, 0)
        await restarted(topology, service, 0, before)
        await load.more(40, within=90)
    result = await audit(await load.finish(), clients.admin, clients.db)
    # Every alert the receiver got is on the record (AlertSent in the ledger's archive), in time: one whose
    # record a SIGKILL cut off is sent again, with the same Idempotency-Key, once its lease (30 s) expires.
    delivered = sorted(hook.keys)

    async def all_on_record() -> bool | None:
        on_record = await clients.db.fetchval(
            "SELECT count(DISTINCT payload->>'alert_key') FROM ledger.archive WHERE type = 'AlertSent' "
            "AND payload->>'alert_key' = ANY($1)", delivered)
        return True if on_record == len(delivered) else None
    await eventually(all_on_record, within=90, poll=0.5,
                     what=f"AlertSent in the ledger for all {len(delivered)} delivered alerts")
    new, live = await c.replay_certificates(topology)
    sent_twice = await clients.db.fetchval(
        "SELECT count(*) FROM (SELECT payload->>'alert_key' FROM ledger.archive WHERE type = 'AlertSent' "
        "GROUP BY 1 HAVING count(*) > 1) d")
    alerts_recorded = await clients.db.fetchval("SELECT count(*) FROM ledger.archive WHERE type = 'AlertSent'")
    report(capsys, result.line("kill -9 intake, stages, projections, notify in turn")
           + f"; alerts delivered {sum(hook.keys.values())} ({len(hook.keys)} keys), delivered twice "
             f"{hook.duplicates} (same Idempotency-Key: {hook.distinct_after_dedup}), "
             f"AlertSent recorded {alerts_recorded}, recorded twice {sent_twice}; "
             f"certificates equal: {new == live}")
    assert result.lost == 0 and result.duplicates == 0
    assert new == live
    # A SIGKILL between a channel's 200 and the AlertSent record re-sends that alert once its lease expires,
    # with the same Idempotency-Key (services/notify/scheduler.py: the at-least-once window); recorded once.
    assert sent_twice == 0 and hook.distinct_after_dedup


async def test_stages_down_workflow_commands_are_refused_as_unavailable_or_buffered_and_none_lost(
        topology: Topology, clients: Clients, capsys: pytest.CaptureFixture[str]) -> None:
    pids = [f"WF-{uuid.uuid4().hex[:8]}" for _ in range(10)]
    for pid in pids:
        assert isinstance(await c.submit(clients.source, c.application(pid)), Accepted)

    async def opened() -> dict[str, str] | None:
        rows = await clients.db.fetch("SELECT project_id, min(stage) AS stage FROM ledger.project_stages "
                                      "WHERE project_id = ANY($1) AND status = 'open' GROUP BY 1", pids)
        return {r["project_id"]: r["stage"] for r in rows} if len(rows) == len(pids) else None

    try:
        stages = await eventually(opened, within=30, what="stages opened for every project")
    except AssertionError:
        rows = await clients.db.fetch("SELECT project_id, stage, status FROM ledger.project_stages "
                                      "WHERE project_id = ANY($1)", pids)
        types = await clients.db.fetch("SELECT project_id, type FROM ledger.archive WHERE project_id = ANY($1)", pids)
        raise AssertionError(f"{[dict(r) for r in rows]} {[dict(r) for r in types]}") from None
    for child in topology.children["stages"]:
        await child.stop()
    topology.children["stages"].clear()

    receipts: dict[str, bytes] = {}

    async def on_receipt(msg: Msg) -> None:
        key = msgspec.json.decode(msg.data).get("idempotency_key")
        receipts[str(key)] = msg.data

    sub = await clients.source.subscribe(c.SUBJECTS.receipts("window"), cb=on_receipt)
    direct, buffered = pids[:5], pids[5:]
    refused = [await c.submit(clients.source, b.raw(b.pass_stage(pid, stages[pid]))) for pid in direct]
    keys = {}
    js = clients.source.jetstream()
    for pid in buffered:
        doc = b.pass_stage(pid, stages[pid])
        keys[pid] = doc["idempotency_key"]
        await js.publish(c.SUBJECTS.inbound("window"), b.raw(doc))
    assert all(isinstance(r, Rejected) and r.code == "unavailable" for r in refused), refused
    assert not any(k in receipts and b'"accepted"' in receipts[k] for k in keys.values())

    await topology.start_service("stages")
    await topology.wait_healthy("stages")
    retried = [await c.submit_until_answered(clients.source, b.raw(b.pass_stage(pid, stages[pid]))) for pid in direct]
    assert all(isinstance(r, Accepted) for r in retried), retried

    async def all_receipts() -> bool:
        return all(k in receipts for k in keys.values())
    await eventually(all_receipts, within=60, what="receipts of every buffered command")
    await sub.unsubscribe()
    assert all(b'"accepted"' in receipts[k] for k in keys.values()), receipts
    await c.quiesced(clients.admin, clients.db)
    passed = await clients.db.fetchval("SELECT count(*) FROM ledger.archive WHERE type = 'StagePassed' "
                                       "AND project_id = ANY($1)", pids)
    report(capsys, f"[faults] stages down: {len(direct)} request/reply commands refused 'unavailable' then "
                   f"accepted on retry, {len(buffered)} fire-and-forget buffered then accepted; StagePassed in "
                   f"ledger {passed} of {len(pids)}, duplicates {max(passed - len(pids), 0)}, lost "
                   f"{max(len(pids) - passed, 0)}")
    assert passed == len(pids)


async def test_postgres_restart_under_load_projector_resumes_with_no_gap_and_no_duplicate(
        topology: Topology, clients: Clients, capsys: pytest.CaptureFixture[str]) -> None:
    load = Load(clients.source)
    await load.acked_at_least(50)
    pg = topology.postgres
    assert pg is not None and pg.process is not None
    pg.process.send_signal(signal.SIGINT)  # the postgres image's STOPSIGNAL: fast shutdown
    await asyncio.to_thread(pg.process.wait, 60)
    pg.process = None
    await clients.db.close()
    await asyncio.to_thread(pg.start, 60.0, "ledger")
    clients.db = await asyncpg.connect(c.database_url(topology))
    await load.more(100, within=120)
    result = await audit(await load.finish(), clients.admin, clients.db)
    row = await clients.db.fetchrow("SELECT count(DISTINCT seq) AS n, min(seq) AS lo, max(seq) AS hi "
                                    "FROM ledger.archive")
    applied = await c.applied_seq(clients.db)
    report(capsys, result.line("restart Postgres") + f"; archive seqs {row['lo']}..{row['hi']} "
           f"({row['n']} distinct), applied {applied}")
    assert result.lost == 0 and result.duplicates == 0
    assert row["lo"] == 1 and row["hi"] == applied == row["n"]
