"""A rebuild's log reader process (ledger.logpump) whose connection drops or goes silent: a clear error, no hang."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import nats
import pytest

from ledger.eventlog import EventLog
from ledger.logpump import PumpError, PumpReader
from ledger.projection.build import build
from tests.cli import ledger_cli, ledger_env
from tests.netcut import Link, NetCut
from tests.projections.workload import append_all, commits
from tests.waiting import eventually

HOLD_AFTER = 200_000  # bytes of the log (~2 MB here) that reach the reader before its connection is held


async def _held(proxy: NetCut) -> Link:
    async def probe() -> Link | None:
        return next((link for link in proxy.links if link.held.is_set()), None)
    return await eventually(probe, within=30, what="the log reader's connection held mid-log")


async def test_a_rebuild_whose_log_reader_loses_its_connection_ends_at_once_with_a_clear_error(
    log: EventLog, conn: asyncpg.Connection, netcut: NetCut
) -> None:
    await append_all(log.nc, log.subjects, commits(8, 3000))
    nc = await nats.connect(netcut.url)  # the rebuild's connection: the reader connects the same way
    try:
        netcut.hold_after = HOLD_AFTER
        rebuild = asyncio.create_task(build(conn, EventLog(nc, log.subjects)))
        (await _held(netcut)).cut()  # what the reader sees when the server restarts

        with pytest.raises(PumpError, match=r"exit 3\).*lost its connection to NATS at nats://127\.0\.0\.1:\d+ "):
            async with asyncio.timeout(20):
                await rebuild
    finally:
        await nc.close()

    assert len((await build(conn, log, name="after", switch=False)).abandoned) == 1  # the half-built schema


async def test_a_log_reader_gone_silent_is_stopped_after_its_stall_timeout(
    log: EventLog, netcut: NetCut
) -> None:
    await append_all(log.nc, log.subjects, commits(8, 3000))
    nc = await nats.connect(netcut.url)
    netcut.hold_after = HOLD_AFTER  # the reader's connection stays open and says nothing more
    # frames of 2000 commits (~1.4 MB): the first is held back whole, so nothing reaches the reader
    reader = PumpReader(EventLog(nc, log.subjects), stall_timeout=2, frame_size=2000)
    try:
        await reader.start()
        with pytest.raises(PumpError, match="sent nothing for 2s while sequence 1 of 3000 was awaited"):
            async with asyncio.timeout(20):
                while await reader.take(5000):
                    pass
        assert reader.proc is not None and reader.proc.returncode is not None  # stopped, not left behind
    finally:
        await reader.close()
        await nc.close()


async def test_the_replay_cli_says_why_when_its_log_reader_loses_its_connection(
    log: EventLog, ledger_db: str, netcut: NetCut, tmp_path: Path
) -> None:
    await append_all(log.nc, log.subjects, commits(8, 3000))
    netcut.hold_after = HOLD_AFTER  # the CLI's own connection carries far less than this
    env = ledger_env(netcut.url, ledger_db, log.subjects.prefix, tmp_path)
    replay = asyncio.create_task(ledger_cli(env, "replay"))
    (await _held(netcut)).cut()
    ran = await replay

    assert ran.returncode == 1
    last = ran.stderr.strip().splitlines()[-1]
    assert last.startswith("ledger replay: error: the log reader process ended early (exit 3)"), last
    assert "lost its connection to NATS" in last and "dropped by the next `ledger replay`" in last
