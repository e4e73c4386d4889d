"""compose.yaml's topology runs as written: a source's submission goes through every service into the ledger."""

from __future__ import annotations

import asyncio
import json
import urllib.request
import uuid

import asyncpg
from nats.js.api import StreamInfo

from contracts.receipts import Accepted
from tests.compose import client as c
from tests.compose.topology import Topology
from tests.intake import builders as b
from tests.waiting import eventually


def read(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=5) as answer:
        return bytes(answer.read())


async def test_every_node_fsyncs_before_ack_and_streams_have_three_replicas(topology: Topology) -> None:
    for node in ("nats-1", "nats-2", "nats-3"):
        url = f"http://127.0.0.1:{topology.port(node, 8222)}/varz"
        varz = json.loads(await asyncio.to_thread(read, url))
        assert varz["server_name"] == node
        assert varz["jetstream"]["config"]["sync_always"] is True
        assert varz["cluster"]["name"] == "ledger"
    admin = await c.as_admin(topology)
    try:
        js = admin.jetstream()
        for stream in (c.SUBJECTS.events_stream, c.SUBJECTS.inbound_stream, c.SUBJECTS.rejected_stream):
            info: StreamInfo = await js.stream_info(stream)
            assert info.config.num_replicas == 3, stream
            assert info.cluster is not None and len(info.cluster.replicas or []) == 2, stream
    finally:
        await admin.close()


async def test_submission_flows_through_intake_stages_projections_and_replays_to_the_same_ledger(
        topology: Topology) -> None:
    pid = "CMP-" + uuid.uuid4().hex[:8]
    source, admin = await c.as_source(topology), await c.as_admin(topology)
    db = await asyncpg.connect(c.database_url(topology))
    try:
        receipt = await c.submit_until_answered(source, c.application(pid))
        assert isinstance(receipt, Accepted), receipt

        async def stage_open() -> str | None:  # StageOpened is appended by the stages service alone
            found = await db.fetchval("SELECT stage FROM ledger.project_stages WHERE project_id = $1 "
                                      "AND status = 'open' ORDER BY stage LIMIT 1", pid)
            return str(found) if found else None

        stage = await eventually(stage_open, within=30, what="stages opened a stage, visible in Postgres")
        assert await db.fetchval("SELECT name FROM ledger.projects WHERE id = $1", pid)

        passed = await c.submit_until_answered(source, b.raw(b.pass_stage(pid, stage)))  # intake → stages → log
        assert isinstance(passed, Accepted), passed
        assert passed.project_version > receipt.project_version

        async def stage_passed() -> bool:
            status = await db.fetchval("SELECT status FROM ledger.project_stages WHERE project_id = $1 "
                                       "AND stage = $2", pid, stage)
            return status is not None and status != "open"

        await eventually(stage_passed, within=30, what="the passed stage in the ledger")
        await c.quiesced(admin, db)
        new, live = c.replay_certificates(topology)
        assert new == live
        assert "verify: ok" in c.ledger_cli(topology, "verify")
    finally:
        await db.close()
        await source.close()
        await admin.close()


async def test_a_load_right_after_an_append_sees_it_whichever_replica_answers(topology: Topology) -> None:
    """Direct gets may be answered by a follower; EventLog.load confirms the tail with the leader."""
    import nats

    from contracts.subjects import Subjects
    from ledger.eventlog import EventLog
    from tests.compose.compose_file import env_file
    from tests.factories import commit_after, received

    password = env_file(topology.secrets_dir / "admin.env")["LEDGER_NATS_PASSWORD"]
    subjects = Subjects(prefix=c.SUBJECTS.prefix)
    writers = [await nats.connect(c.nats_url(topology, node), user="admin", password=password)
               for node in ("nats-1", "nats-2", "nats-3")]
    try:
        logs = [EventLog(nc, subjects) for nc in writers]
        stale = 0
        misses: list[tuple[int, int]] = []
        for n in range(150):
            pid = f"RYW-{uuid.uuid4().hex[:8]}"
            writer, reader = logs[n % 3], logs[(n + 1) % 3]
            done = await writer.append(commit_after(await writer.load_project(pid), pid, [received(pid)]),
                                       expected_version=0)
            loaded = await reader.load_project(pid)
            if loaded.version < done.seq:  # the running stages service may have appended more meanwhile
                stale += 1
                misses.append((done.seq, loaded.version))
        assert stale == 0, f"{stale} of 150 loads missed a commit acknowledged just before: {misses[:5]}"
    finally:
        for nc in writers:
            await nc.close()
