"""Every acknowledged append survives a SIGKILL of nats-server (sync_interval: always)."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import nats

from contracts.subjects import Subjects
from ledger.eventlog import ConcurrencyConflict, EventLog, provision
from ledger.runtime.nats import NatsServer, render_config
from ledger.runtime.ports import free_port
from tests.factories import blocker, commit_after, received

TOTAL = 10_000
WRITERS = 20


async def test_acknowledged_appends_survive_sigkill_of_the_server(tmp_path: Path) -> None:
    port = free_port()
    conf = tmp_path / "nats.conf"
    conf.write_text(render_config(port=port, store_dir=tmp_path / "js"))
    server = NatsServer(conf, port, log_file=tmp_path / "nats.log")
    server.start()
    subjects = Subjects(prefix="durable")
    acked: dict[str, int] = {}  # commit id -> seq
    killed = asyncio.Event()
    third = asyncio.Event()

    nc = await nats.connect(server.url, max_reconnect_attempts=0, allow_reconnect=False)
    await provision(nc.jetstream(), subjects)
    log = EventLog(nc, subjects, timeout=2.0)

    async def writer(w: int) -> None:
        pid = f"W-{w}"
        loaded = await log.load_project(pid)
        for n in range(TOTAL // WRITERS):
            commit = commit_after(loaded, pid, [received(pid)] if n == 0 else [blocker(pid, n)])
            try:
                done = await log.append(commit, expected_version=loaded.version)
            except (TimeoutError, ConcurrencyConflict, nats.errors.Error, OSError):
                return  # the server died under us: this append was never acknowledged
            acked[commit.commit_id] = done.seq
            if len(acked) >= TOTAL // 3:
                third.set()
            loaded = loaded.__replace__(version=done.seq, last_hash=done.hash, last_number=commit.number)

    async def killer() -> None:
        await asyncio.wait_for(third.wait(), timeout=120)
        server.kill()
        killed.set()

    await asyncio.gather(killer(), *(writer(w) for w in range(WRITERS)))
    assert killed.is_set(), "the server was never killed mid-run"
    assert TOTAL // 3 <= len(acked) < TOTAL
    with contextlib.suppress(Exception):
        await nc.close()

    server.start()
    try:
        nc2 = await nats.connect(server.url)
        log2 = EventLog(nc2, subjects)
        found = {r.commit.commit_id: r.seq async for r in log2.read()}
        lost = [cid for cid in acked if cid not in found]
        assert lost == [], f"{len(lost)} acknowledged appends lost after SIGKILL"
        assert all(found[cid] == seq for cid, seq in acked.items())
        await nc2.close()
    finally:
        server.stop()

