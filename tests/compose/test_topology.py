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
