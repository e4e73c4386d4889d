"""The log is immutable: deleting, purging and rolling up are refused by the server."""

from __future__ import annotations

import nats.js.errors
import pytest
from nats.aio.client import Client as NATS

from contracts.subjects import Subjects
from ledger.eventlog import EventLog, provision, stream_config
from tests.factories import commit_after, received


async def _one(log: EventLog, pid: str) -> int:
    base = await log.load_project(pid)
    return (await log.append(commit_after(base, pid, [received(pid)]), expected_version=0)).seq


async def test_deleting_a_message_is_refused(log: EventLog) -> None:
    seq = await _one(log, "P-del")
    with pytest.raises(nats.js.errors.APIError):
        await log.js.delete_msg(log.subjects.events_stream, seq)
    assert (await log.get(seq)) is not None


async def test_purging_the_stream_or_a_subject_is_refused(log: EventLog) -> None:
    await _one(log, "P-purge")
    with pytest.raises(nats.js.errors.APIError):
        await log.js.purge_stream(log.subjects.events_stream)
    with pytest.raises(nats.js.errors.APIError):
        await log.js.purge_stream(log.subjects.events_stream, subject=log.subjects.project("P-purge"))
    assert len((await log.load_project("P-purge")).records) == 1


async def test_a_rollup_header_is_refused(log: EventLog) -> None:
    await _one(log, "P-roll")
    with pytest.raises(nats.js.errors.APIError):
        await log.js.publish(log.subjects.project("P-roll"), b"{}", headers={"Nats-Rollup": "sub"})
    assert len((await log.load_project("P-roll")).records) == 1


async def test_provisioning_is_idempotent_and_refuses_a_mutable_stream(nc: NATS, subjects: Subjects) -> None:
    js = nc.jetstream()
    await provision(js, subjects)
    await provision(js, subjects)
    other = Subjects(prefix=subjects.prefix + "m")
    config = stream_config(other)
    config.deny_purge = False
    await js.add_stream(config)
    with pytest.raises(RuntimeError, match="deny_purge"):
        await provision(js, other)
