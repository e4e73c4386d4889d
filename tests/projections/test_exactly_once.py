"""Crashes: SIGKILL the projector process at random points while events flow; nothing lost or doubled."""

from __future__ import annotations

import asyncio
import functools
import random
import signal
from pathlib import Path

import asyncpg

from ledger.eventlog import EventLog
from ledger.projection.build import build
from ledger.projection.certificate import certificate
from tests.projections.proc import applied_seq, eventually, start_projector
from tests.projections.workload import append_all, commits


async def _flow(log: EventLog, events: int, chunk: int = 250) -> None:
    stream = commits(11, events)
    while True:
        part = [c for _, c in zip(range(chunk), stream, strict=False)]
        if not part:
            return
        await append_all(log.nc, log.subjects, iter(part))
        await asyncio.sleep(0.02)  # pacing: keep events flowing across the kills (not a wait)


async def test_sigkill_at_random_points_while_20000_events_flow_loses_and_doubles_nothing(
    log: EventLog, conn: asyncpg.Connection, ledger_db: str, nats_url: str, tmp_path: Path
) -> None:
    rng = random.Random(5)
    appender = asyncio.create_task(_flow(log, 20_000))
    kills = 0
    while kills < 12 or not appender.done():
        proc = start_projector(nats_url, ledger_db, log.subjects.prefix, tmp_path, LEDGER_CHECKPOINT_EVERY="700",
                               LEDGER_PROJECTOR_BATCH=str(rng.choice([50, 300, 2000])))
        try:
            start = await applied_seq(conn)
            end = await log.last_seq()
            target = start + max(1, int((end - start) * rng.random()))
            try:
                await eventually(functools.partial(_reached, conn, target), 30, f"applied sequence {target}")
            except AssertionError as err:
                raise AssertionError(f"{err} (from {start}; projector exit code {proc.poll()}); its log ends:\n"
                                     + _tail(tmp_path / "projector.log")) from None
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        kills += 1
    await appender
    end = await log.last_seq()
    proc = start_projector(nats_url, ledger_db, log.subjects.prefix, tmp_path)
    try:
        await eventually(lambda: _reached(conn, end), 60, "the projector to catch up")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait()

    live = await conn.fetchval("SELECT schema FROM ledger_meta.live")
    seqs = await conn.fetchrow("SELECT count(DISTINCT seq) n, min(seq) lo, max(seq) hi FROM ledger.archive")
    assert (seqs["n"], seqs["lo"], seqs["hi"]) == (end, 1, end)  # no gap, nothing twice
    assert await conn.fetchval("SELECT count(*) FROM ledger.archive") >= 20_000
    clean = await build(conn, log, name="clean", switch=False)
    assert await certificate(conn, live) == clean.certificate
    assert await conn.fetchval("SELECT count(*) FROM ledger_meta.checkpoints") >= end // 700 - 12


def _tail(path: Path, lines: int = 40) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else "(no log)"


async def _reached(conn: asyncpg.Connection, seq: int) -> bool:
    return await applied_seq(conn) >= seq


async def test_a_second_replica_waits_as_hot_standby_and_takes_over_when_the_active_one_dies(
    log: EventLog, conn: asyncpg.Connection, ledger_db: str, nats_url: str, tmp_path: Path
) -> None:
    await append_all(log.nc, log.subjects, commits(21, 500))
    first = start_projector(nats_url, ledger_db, log.subjects.prefix, tmp_path)
    try:
        end = await log.last_seq()
        await eventually(lambda: _reached(conn, end), 30, "the first replica to catch up")
        second = start_projector(nats_url, ledger_db, log.subjects.prefix, tmp_path)
        try:
            async def waiting() -> bool:
                return bool(await conn.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND query LIKE '%pg_advisory_lock%'"))
            await eventually(waiting, 30, "the second replica to wait for the lock")
            first.send_signal(signal.SIGKILL)
            first.wait()
            await append_all(log.nc, log.subjects, commits(22, 300, prefix="S"))
            end = await log.last_seq()
            await eventually(lambda: _reached(conn, end), 30, "the standby to take over and catch up")
        finally:
            second.send_signal(signal.SIGKILL)
            second.wait()
    finally:
        if first.poll() is None:
            first.send_signal(signal.SIGKILL)
            first.wait()
    seqs = await conn.fetchrow("SELECT count(DISTINCT seq) n, max(seq) hi FROM ledger.archive")
    assert (seqs["n"], seqs["hi"]) == (end, end)
