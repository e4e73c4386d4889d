"""Fire-and-forget: nothing lost while intake (or stages) is down, each message processed once."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable

from nats.aio.client import Client as NATS
from nats.js import api

from contracts.receipts import Accepted, Rejected
from contracts.subjects import Subjects
from ledger.eventlog import EventLog
from ledger.rejected import read_rejected
from services.intake import streams
from services.intake.app import running
from services.intake.inbound import trim_denied
from tests.intake import builders as b
from tests.intake.conftest import AuthServer, collect_receipts, intake_config, intake_settings, login, wait_for
from tests.intake.standin import StagesStandIn

N = 1000


async def test_a_thousand_submissions_sent_while_intake_is_down_are_each_processed_once(
    auth_server: AuthServer, admin: NATS, window: NATS, subjects: Subjects, log: EventLog,
    database_url: str, pg_schema: str,
) -> None:
    await streams.provision((await login(auth_server, "intake")).jetstream(), subjects)
    receipts = await collect_receipts(window, subjects)
    js = window.jetstream()
    bodies = [b.submit_app(f"F-{i}", key=f"f-{i}") for i in range(N)] + [b"{broken"]
    acks = await asyncio.gather(*(js.publish(subjects.inbound("window"), b.raw(x) if isinstance(x, dict) else x)
                                  for x in bodies))
    assert len({a.seq for a in acks}) == N + 1
    async with running(intake_config(auth_server, subjects, database_url, pg_schema, inbound_trim_every=0.2)):
        await wait_for(lambda: len(receipts) >= N + 1, within=60)
        await wait_for(_emptied(admin, subjects))  # every message acked (acks follow the receipts), then purged
    accepted = [r for r in receipts if isinstance(r, Accepted)]
    assert len(accepted) == N and all(not r.duplicate for r in accepted)
    assert sorted(r.project_id for r in accepted) == sorted(f"F-{i}" for i in range(N))
    assert [r.code for r in receipts if isinstance(r, Rejected)] == ["malformed"]
    assert await log.last_seq() == N
    assert [e.code for e in await read_rejected(admin, subjects)] == ["malformed"]


async def test_a_workflow_command_waits_in_the_stream_until_stages_answers(
    auth_server: AuthServer, admin: NATS, window: NATS, subjects: Subjects, log: EventLog,
    database_url: str, pg_schema: str,
) -> None:
    receipts = await collect_receipts(window, subjects)
    ajs = admin.jetstream()
    async with running(intake_config(auth_server, subjects, database_url, pg_schema, inbound_trim_every=0.1)) as app:
        js = window.jetstream()
        await js.publish(subjects.inbound("window"), b.raw(b.submit_app("W-1")))
        await wait_for(lambda: len(receipts) == 1)
        supply = await js.publish(subjects.inbound("window"), b.raw(b.supply("W-1")))
        await wait_for(_redelivered(admin, subjects), within=10)
        assert len(receipts) == 1, "no receipt while stages is down"
        # the trimmer purged the settled application, never the command still waiting for stages
        await wait_for(lambda: app.inbound.trimmed_to == supply.seq)
        state = (await ajs.stream_info(subjects.inbound_stream)).state
        assert (state.messages, state.first_seq) == (1, supply.seq)
        standin = StagesStandIn(await login(auth_server, "stages"), subjects)
        await standin.start()
        await wait_for(lambda: len(receipts) == 2, within=15)
        assert isinstance(receipts[1], Accepted) and app.indexer.fresh()
        await wait_for(lambda: app.inbound.trimmed_to == supply.seq + 1)
        assert (await ajs.stream_info(subjects.inbound_stream)).state.messages == 0
    assert await log.last_seq() == 2
    assert await read_rejected(admin, subjects) == []


def _redelivered(admin: NATS, subjects: Subjects) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        info = await admin.jetstream().consumer_info(subjects.inbound_stream, "intake")
        return bool(info.num_redelivered >= 1 or info.num_ack_pending >= 1)
    return check


def _emptied(admin: NATS, subjects: Subjects) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return (await admin.jetstream().stream_info(subjects.inbound_stream)).state.messages == 0
    return check


async def test_an_inbound_stream_an_older_intake_made_as_a_work_queue_is_used_as_it_is(
    auth_server: AuthServer, admin: NATS, window: NATS, subjects: Subjects, log: EventLog,
    database_url: str, pg_schema: str,
) -> None:
    # Retention cannot change in place: intake keeps using the work queue, whose acks remove, and trims nothing.
    older = dataclasses.replace(streams.configs(subjects)[0], retention=api.RetentionPolicy.WORK_QUEUE)
    assert older.name == subjects.inbound_stream
    await admin.jetstream().add_stream(older)
    receipts = await collect_receipts(window, subjects)
    js = window.jetstream()
    for i in range(20):
        await js.publish(subjects.inbound("window"), b.raw(b.submit_app(f"Q-{i}", key=f"q-{i}")))
    async with running(intake_config(auth_server, subjects, database_url, pg_schema, inbound_trim_every=0.1)) as app:
        assert not app.inbound.trimming and len(app.inbound.tasks) == 1  # the fetch loop only
        await wait_for(lambda: len(receipts) == 20)
        await wait_for(_emptied(admin, subjects))  # removed by the acks
        assert app.inbound.trimmed_to == 1  # never purged
        assert await trim_denied(intake_settings(auth_server, subjects)) is None  # nothing to probe: acks remove
    info = await admin.jetstream().stream_info(subjects.inbound_stream)
    assert info.config.retention == api.RetentionPolicy.WORK_QUEUE and info.state.last_seq == 20
    assert sorted(r.project_id for r in receipts if isinstance(r, Accepted)) == sorted(f"Q-{i}" for i in range(20))
    assert await log.last_seq() == 20
