"""Talking to a running topology the way outsiders do: a source submits, an operator runs `ledger` commands."""

from __future__ import annotations

import re
import uuid
from typing import Any

import asyncpg
import msgspec
import nats
from nats.aio.client import Client as NATS

from contracts.receipts import Accepted, Receipt, Rejected
from contracts.subjects import Subjects
from ledger.runtime.auth import ADMIN, inbox_prefix
from tests.cli import run
from tests.compose.conftest import SOURCES
from tests.compose.topology import Topology
from tests.intake import builders as b
from tests.waiting import eventually

SUBJECTS = Subjects(prefix="ledger")
receipt_decoder: msgspec.json.Decoder[Receipt] = msgspec.json.Decoder(Receipt)


def nats_url(topo: Topology, node: str = "nats") -> str:
    return "nats://" + topo.url_of(f"{node}:4222")


def database_url(topo: Topology) -> str:
    return "postgresql://ledger@" + topo.url_of("postgres:5432") + "/ledger"


async def as_source(topo: Topology, source: str = "window") -> NATS:
    return await nats.connect(nats_url(topo), user=source, password=SOURCES[source], name=source,
                              inbox_prefix=inbox_prefix(source), max_reconnect_attempts=-1, reconnect_time_wait=0.2,
                              pending_size=64 << 20)


async def as_admin(topo: Topology) -> NATS:
    from tests.compose.compose_file import env_file

    password = env_file(topo.secrets_dir / "admin.env")["LEDGER_NATS_PASSWORD"]
    return await nats.connect(nats_url(topo), user=ADMIN, password=password, name="test-admin",
                              max_reconnect_attempts=-1, reconnect_time_wait=0.2)


def application(project_id: str, key: str | None = None, occurred_at: str = b.T) -> bytes:
    return b.raw(b.submit_app(project_id, key=key or uuid.uuid4().hex, occurred_at=occurred_at))


async def submit(nc: NATS, body: bytes, *, source: str = "window", wait: float = 10.0) -> Receipt:
    reply = await nc.request(SUBJECTS.submit(source), body, timeout=wait)
    return receipt_decoder.decode(reply.data)


async def submit_until_answered(nc: NATS, body: bytes, within: float = 60.0) -> Receipt:
    """As a careful publisher does: retry with the same key while intake says it is temporarily unavailable."""
    async def answered() -> Receipt | None:
        try:
            receipt = await submit(nc, body, wait=3.0)
        except (nats.errors.TimeoutError, nats.errors.NoRespondersError):
            return None
        return None if isinstance(receipt, Rejected) and receipt.code == "unavailable" else receipt
    return await eventually(answered, within=within, what="an answer other than 'unavailable'", poll=0.2)


async def last_seq(admin: NATS) -> int:
    info = await admin.jetstream().stream_info(SUBJECTS.events_stream)
    return int(info.state.last_seq)


async def applied_seq(db: asyncpg.Connection) -> int:
    return int(await db.fetchval("SELECT applied_seq FROM ledger.progress") or 0)


async def quiesced(admin: NATS, db: asyncpg.Connection, within: float = 60.0) -> int:
    """Wait until the live ledger has applied the whole log (and the log stopped growing); its last sequence."""

    async def caught_up() -> int | None:
        seq = await last_seq(admin)
        return seq if await applied_seq(db) == seq and await last_seq(admin) == seq else None

    return await eventually(caught_up, within=within, what="the ledger caught up with the log", poll=0.1)


async def ledger_cli(topo: Topology, *args: str, limit: float = 120.0) -> str:
    """A `ledger` command as the admin job runs it (the provision service's environment); killed (and the
    test failed) after `limit` seconds."""
    svc = topo.compose.services["provision"]
    done = await run(topo.argv(svc, 0, ["ledger", *args]), topo.env(svc, 0), limit=limit)
    assert done.returncode == 0, f"ledger {' '.join(args)}: {done.stdout}\n{done.stderr}"
    return done.stdout


async def replay_certificates(topo: Topology) -> tuple[str, str]:
    """`ledger replay --into NAME`: (clean rebuild's certificate, live ledger's certificate)."""
    out = await ledger_cli(topo, "replay", "--into", "rebuild_" + uuid.uuid4().hex[:8])
    new = re.search(r"^new\s+\S+\s+seq \d+\s+certificate (\w+)", out, re.M)
    live = re.search(r"^live\s+\S+\s+(?:seq \d+\s+)?certificate (\w+)", out, re.M)
    assert new and live, out
    return new[1], live[1]


async def commits_of(admin: NATS, project_id: str) -> list[Any]:
    from ledger.eventlog import EventLog

    loaded = await EventLog(admin, SUBJECTS).load_project(project_id)
    return [r.commit for r in loaded.records]


async def archive_counts(db: asyncpg.Connection, event_ids: list[str]) -> dict[str, int]:
    rows = await db.fetch("SELECT event_id, count(*) AS n FROM ledger.archive WHERE event_id = ANY($1) "
                          "GROUP BY event_id", event_ids)
    return {r["event_id"]: int(r["n"]) for r in rows}


def is_accepted(receipt: Receipt) -> bool:
    return isinstance(receipt, Accepted)


async def wait_accepting(topo: Topology, within: float = 60.0) -> None:
    """Intake answers a source again (after a restart)."""
    nc = await as_source(topo)
    try:
        async def probe() -> bool:
            try:
                await submit(nc, application("PROBE-" + uuid.uuid4().hex[:8]), wait=2)
                return True
            except (nats.errors.NoRespondersError, nats.errors.TimeoutError):
                return False
        await eventually(probe, within=within, what="intake answering", poll=0.2)
    finally:
        await nc.close()



