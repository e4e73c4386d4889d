"""Confinement by the generated nats-server config: sources and services can do only their part."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from pathlib import Path

import nats.errors
import nats.js.errors
import pytest
from litestar.testing import AsyncTestClient
from nats.aio.client import Client as NATS

from contracts.subjects import Subjects
from ledger.eventlog import EventLog
from ledger.natsconn import connect
from ledger.rejected import read_rejected
from ledger.runtime.auth import ADMIN, ensure_secrets, inbox_prefix, with_identity
from ledger.runtime.services import service_specs
from ledger.settings import Settings
from services.api.app import create_app
from services.api.auth import Holder
from services.intake import streams
from services.intake.app import Running
from tests.factories import commit_after, received
from tests.intake import builders as b
from tests.intake.conftest import SOURCES, AuthServer, login, wait_for


async def watched(server: AuthServer, user: str) -> tuple[NATS, list[str]]:
    errors: list[str] = []

    async def on_error(exc: Exception) -> None:
        errors.append(str(exc))

    nc = await login(server, user, error_cb=on_error)
    return nc, errors


async def test_a_source_cannot_publish_on_another_sources_subjects(
    intake: Running, auth_server: AuthServer, subjects: Subjects, log: EventLog
) -> None:
    nc, errors = await watched(auth_server, "landsys")
    try:
        with pytest.raises((nats.errors.TimeoutError, nats.errors.NoRespondersError)):
            await nc.request(subjects.submit("window"), b.raw(b.submit_app("A-1")), timeout=1)
        with pytest.raises((nats.errors.TimeoutError, nats.errors.NoRespondersError)):
            await nc.jetstream().publish(subjects.inbound("window"), b.raw(b.submit_app("A-2")), timeout=1)
        await wait_for(lambda: sum("permissions violation" in e.lower() for e in errors) >= 2)
        ok = await nc.request(subjects.submit("landsys"), b.raw(b.submit_app("A-3")), timeout=5)
        assert b'"accepted"' in ok.data  # its own subject works
    finally:
        await nc.close()
    assert await log.last_seq() == 1


async def test_a_source_cannot_append_to_the_event_log_or_read_other_receipts(
    admin: NATS, auth_server: AuthServer, subjects: Subjects, log: EventLog
) -> None:
    nc, errors = await watched(auth_server, "window")
    try:
        rogue = EventLog(nc, subjects, timeout=1)
        loaded = await log.load_project("A-4")
        with pytest.raises((nats.errors.TimeoutError, nats.errors.NoRespondersError)):
            await rogue.append(commit_after(loaded, "A-4", [received("A-4")]), expected_version=0)
        await nc.subscribe(subjects.receipts("landsys"))
        await nc.subscribe("_INBOX.landsys.>")
        await wait_for(lambda: sum("permissions violation" in e.lower() for e in errors) >= 3)
    finally:
        await nc.close()
    assert await log.last_seq() == 0


async def test_a_source_must_use_its_own_reply_inbox(auth_server: AuthServer, subjects: Subjects) -> None:
    nc = await nats.connect(auth_server.url, user="window", password=SOURCES["window"].password,
                            inbox_prefix=inbox_prefix("landsys"), max_reconnect_attempts=0)
    errors: list[str] = []
    try:
        await nc.subscribe(f"{inbox_prefix('landsys')}.x", cb=None)
        nc._error_cb = _collect(errors)
        await nc.subscribe(f"{inbox_prefix('landsys')}.y")
        await wait_for(lambda: any("permissions violation" in e.lower() for e in errors))
    finally:
        await nc.close()


def _collect(errors: list[str]):  # type: ignore[no-untyped-def]
    async def cb(exc: Exception) -> None:
        errors.append(str(exc))
    return cb


@pytest.mark.parametrize("service", ["intake", "stages", "projections", "notify", "api"])
async def test_a_service_cannot_delete_purge_or_update_streams(
    admin: NATS, auth_server: AuthServer, subjects: Subjects, log: EventLog, service: str
) -> None:
    base = await log.load_project("A-5")
    await log.append(commit_after(base, "A-5", [received("A-5")]), expected_version=0)
    await streams.provision((await login(auth_server, "intake")).jetstream(), subjects)
    nc = await login(auth_server, service)
    js = nc.jetstream(timeout=0.5)
    try:
        attempts: list[Awaitable[object]] = []
        for name in (subjects.events_stream, subjects.rejected_stream, subjects.inbound_stream):
            config = (await admin.jetstream().stream_info(name)).config  # the api may not even read it
            config.deny_delete = False
            attempts += [js.delete_stream(name), js.delete_msg(name, 1), js.update_stream(config)]
            if not (service == "intake" and name == subjects.inbound_stream):  # intake trims its inbound stream
                attempts.append(js.purge_stream(name))
        attempts.append(js.add_stream(name=f"{subjects.prefix.upper()}_ROGUE", subjects=[f"{subjects.prefix}.rogue"]))
        outcomes = await asyncio.gather(*(asyncio.wait_for(a, 0.5) for a in attempts), return_exceptions=True)
        assert all(isinstance(o, (TimeoutError, nats.errors.TimeoutError, nats.js.errors.APIError)) for o in outcomes)
    finally:
        await nc.close()
    assert len((await log.load_project("A-5")).records) == 1
    assert (await admin.jetstream().stream_info(subjects.events_stream)).config.deny_delete


def api_settings(server: AuthServer, subjects: Subjects, database_url: str | None = None) -> Settings:
    """What `ledger up` and compose's api.env give the read API: its own identity."""
    return Settings(nats_url=server.url, database_url=database_url, prefix=subjects.prefix,
                    nats_user="api", nats_password=server.passwords["api"])


async def test_the_api_identity_reads_what_the_read_api_and_its_health_check_need(
    intake: Running, auth_server: AuthServer, window: NATS, subjects: Subjects, database_url: str
) -> None:
    refused = await window.request(subjects.submit("window"), b'{"project_id": 5}', timeout=10)
    assert b'"invalid_field"' in refused.data
    settings = api_settings(auth_server, subjects, database_url)
    nc = await connect(settings, name="api")  # as services/api and `ledger.runtime.health api` connect
    try:
        await nc.jetstream(timeout=2).account_info()  # the health check
        await nc.jetstream(timeout=2).stream_info(subjects.rejected_stream)
        assert [(e.source, e.code) for e in await read_rejected(nc, subjects, wait_s=2)] == [
            ("window", "invalid_field")]
    finally:
        await nc.close()
    operator = Holder(name="ops", token="ops-token-0123456789abcdef", role="operator")
    async with AsyncTestClient(app=create_app(settings, [operator])) as client:
        answer = await client.get("/api/v1/rejected", headers={"Authorization": f"Bearer {operator.token}"})
    assert answer.status_code == 200, answer.text
    assert [(e["source"], e["code"]) for e in answer.json()] == [("window", "invalid_field")]


async def test_the_api_identity_cannot_write_manage_or_read_beyond_the_rejected_stream(
    intake: Running, auth_server: AuthServer, admin: NATS, window: NATS, subjects: Subjects, log: EventLog
) -> None:
    accepted = await window.request(subjects.submit("window"), b.raw(b.submit_app("R-1")), timeout=10)
    assert b'"accepted"' in accepted.data
    await window.request(subjects.submit("window"), b'{"project_id": 5}', timeout=10)
    loaded = await log.load_project("R-1")
    ajs = admin.jetstream()
    rejected_before = (await ajs.stream_info(subjects.rejected_stream)).state.messages
    consumers_before = {s: {c.name for c in await ajs.consumers_info(s)}
                        for s in (subjects.events_stream, subjects.inbound_stream)}
    nc, errors = await watched(auth_server, "api")
    js = nc.jetstream(timeout=0.5)
    rogue = EventLog(nc, subjects, timeout=0.5)
    try:
        attempts: list[Awaitable[object]] = [
            rogue.append(commit_after(loaded, "R-1", [received("R-1")]), expected_version=loaded.version),
            js.publish(subjects.inbound("window"), b.raw(b.submit_app("R-2"))),  # submit as a source
            js.publish(subjects.rejected("window"), b"forged"),
            rogue.load_project("R-1"),  # the log is Postgres's to show, not the API's to read
            js.add_consumer(subjects.events_stream, durable_name="api-reader"),
            js.consumer_info(subjects.inbound_stream, "intake"),
            nc.request(f"$JS.API.CONSUMER.MSG.NEXT.{subjects.inbound_stream}.intake", b'{"batch": 1}', timeout=0.5),
            js.add_stream(name=f"{subjects.prefix.upper()}_ROGUE", subjects=[f"{subjects.prefix}.rogue"]),
        ]
        for name in (subjects.events_stream, subjects.rejected_stream, subjects.inbound_stream):
            config = (await ajs.stream_info(name)).config
            config.deny_delete = False
            attempts += [js.delete_stream(name), js.purge_stream(name), js.delete_msg(name, 1),
                         js.update_stream(config)]
        attempts += [js.stream_info(subjects.events_stream), js.stream_info(subjects.inbound_stream)]
        outcomes = await asyncio.gather(*(asyncio.wait_for(a, 1) for a in attempts), return_exceptions=True)
        assert all(isinstance(o, (TimeoutError, nats.errors.TimeoutError, nats.errors.NoRespondersError))
                   for o in outcomes), outcomes
        for subject in ("_INBOX.>", f"{inbox_prefix('window')}.>", f"{subjects.prefix}.project.*",
                        subjects.receipts("window")):
            await nc.subscribe(subject)  # nobody else's replies, no live events, no receipts
        await wait_for(lambda: sum("permissions violation" in e.lower() for e in errors) >= len(attempts) + 4)
    finally:
        await nc.close()
    assert (await log.load_project("R-1")).records == loaded.records
    assert (await ajs.stream_info(subjects.rejected_stream)).state.messages == rejected_before
    for stream, names in consumers_before.items():
        assert {c.name for c in await ajs.consumers_info(stream)} == names
    assert (await ajs.stream_info(subjects.events_stream)).config.deny_delete


def test_ledger_up_runs_the_api_as_its_own_identity_not_as_admin(tmp_path: Path) -> None:
    passwords = ensure_secrets(tmp_path / "auth")
    specs = {s.name: with_identity(s, passwords) for s in service_specs({"LEDGER_PREFIX": "ledger"})}
    assert specs["api"].env["LEDGER_NATS_USER"] == "api"
    assert specs["api"].env["LEDGER_NATS_PASSWORD"] == passwords["api"] != passwords[ADMIN]
