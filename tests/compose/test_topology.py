"""compose.yaml's topology runs as written: a source's submission goes through every service into the ledger."""

from __future__ import annotations

import asyncio
import json
import urllib.request
import uuid

import asyncpg
import nats.errors
import nats.js.errors
import pytest
from nats.js.api import StreamInfo

from contracts.receipts import Accepted, Rejected
from ledger.natsconn import connect
from ledger.rejected import RejectedEntry, read_rejected
from ledger.settings import Settings
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
        new, live = await c.replay_certificates(topology)
        assert new == live
        assert "verify: ok" in await c.ledger_cli(topology, "verify")
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


async def test_the_api_reads_rejections_as_a_read_only_identity_that_cannot_touch_the_log(
        topology: Topology) -> None:
    env = topology.env(topology.compose.services["api"], 0)  # api.env, as compose gives it
    assert env["LEDGER_NATS_USER"] == "api"
    settings = Settings(nats_url=env["LEDGER_NATS_URL"], prefix=c.SUBJECTS.prefix, nats_user="api",
                        nats_password=env["LEDGER_NATS_PASSWORD"])
    source, admin = await c.as_source(topology), await c.as_admin(topology)
    api = await connect(settings, name="test-api", reconnect=False)  # as the api and its health check do
    try:
        body = b'{"project_id": %d}' % uuid.uuid4().int  # this test's own rejection
        refused = await c.submit_until_answered(source, body)
        assert isinstance(refused, Rejected) and refused.code == "invalid_field"

        async def shown() -> list[RejectedEntry] | None:  # direct gets: a lagging replica may answer first
            entries = await read_rejected(api, c.SUBJECTS, source="window", wait_s=5)
            return entries if any(e.code == "invalid_field" and e.raw == body for e in entries) else None

        entries = await eventually(shown, within=30, what="the rejection, read as the api")
        js = api.jetstream(timeout=1)
        attempts = (js.publish(c.SUBJECTS.project("CMP-FORGED"), b"{}"), js.purge_stream(c.SUBJECTS.events_stream),
                    js.delete_stream(c.SUBJECTS.events_stream), js.purge_stream(c.SUBJECTS.rejected_stream))
        outcomes = await asyncio.gather(*(asyncio.wait_for(a, 2) for a in attempts), return_exceptions=True)
        assert all(isinstance(o, (TimeoutError, nats.errors.TimeoutError, nats.errors.NoRespondersError))
                   for o in outcomes), outcomes  # refused by the server: no answer
        with pytest.raises(nats.js.errors.NotFoundError):
            await admin.jetstream().get_last_msg(c.SUBJECTS.events_stream, c.SUBJECTS.project("CMP-FORGED"))
        assert (await admin.jetstream().stream_info(c.SUBJECTS.rejected_stream)).state.messages >= len(entries)
    finally:
        await api.close()
        await source.close()
        await admin.close()
