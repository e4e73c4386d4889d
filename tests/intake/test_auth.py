"""Confinement by the generated nats-server config: sources and services can do only their part."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

import nats.errors
import nats.js.errors
import pytest
from nats.aio.client import Client as NATS

from contracts.subjects import Subjects
from ledger.eventlog import EventLog
from ledger.runtime.auth import inbox_prefix
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
            config = (await js.stream_info(name)).config
            config.deny_delete = False
            attempts += [js.delete_stream(name), js.purge_stream(name), js.delete_msg(name, 1),
                         js.update_stream(config)]
        attempts.append(js.add_stream(name=f"{subjects.prefix.upper()}_ROGUE", subjects=[f"{subjects.prefix}.rogue"]))
        outcomes = await asyncio.gather(*(asyncio.wait_for(a, 0.5) for a in attempts), return_exceptions=True)
        assert all(isinstance(o, (TimeoutError, nats.errors.TimeoutError, nats.js.errors.APIError)) for o in outcomes)
    finally:
        await nc.close()
    assert len((await log.load_project("A-5")).records) == 1
    assert (await admin.jetstream().stream_info(subjects.events_stream)).config.deny_delete
