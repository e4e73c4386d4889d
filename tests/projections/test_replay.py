"""Rebuilds with no downtime, as-of audit ledgers, and the replay CLI end to end."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import re
from pathlib import Path

import asyncpg

from ledger.eventlog import EventLog
from ledger.projection import query
from ledger.projection.build import build
from ledger.projection.certificate import certificate
from tests.cli import ledger_cli, ledger_env
from tests.projections.live import caught_up, live_projector
from tests.projections.proc import applied_seq
from tests.projections.workload import append_all, commits
from tests.waiting import eventually


async def test_as_of_t_equals_a_ledger_built_only_from_what_was_recorded_up_to_t(
    log: EventLog, conn: asyncpg.Connection
) -> None:
    stream = commits(3, 3000)
    await append_all(log.nc, log.subjects, itertools.islice(stream, 1500))
    cut_seq = await log.last_seq()
    at = (await log.get(cut_seq)).recorded_at  # type: ignore[union-attr]
    await append_all(log.nc, log.subjects, stream)
    assert await log.last_seq() > cut_seq

    as_of = await build(conn, log, name="audit_t", as_of=at, switch=False)
    only_before = await build(conn, log, name="upto_t", until_seq=cut_seq, switch=False)

    assert as_of.certificate == only_before.certificate
    assert as_of.certificate != (await build(conn, log, name="everything", switch=False)).certificate
    pid = str(await conn.fetchval("SELECT id FROM audit_t.projects ORDER BY version DESC LIMIT 1"))
    folded = await query.as_of(log, pid, at)
    stored = await query.from_schema(conn, pid, "audit_t")
    assert folded is not None and stored is not None
    today = dt.date(2026, 6, 1)
    assert query.to_json(folded, today) == query.to_json(stored, today)


async def test_a_reader_querying_during_rebuilds_never_sees_an_error_or_an_empty_ledger(
    log: EventLog, conn: asyncpg.Connection, ledger_db: str, nats_url: str, tmp_path: Path
) -> None:
    stream = commits(4, 6000)
    await append_all(log.nc, log.subjects, itertools.islice(stream, 2000))
    async with live_projector(log, nats_url, ledger_db, tmp_path):
        await caught_up(conn, log)
        reader = await asyncpg.connect(ledger_db)
        stop = asyncio.Event()
        seen: list[int] = []
        errors: list[BaseException] = []

        async def read() -> None:
            while not stop.is_set():
                try:
                    seen.append(await reader.fetchval("SELECT count(*) FROM ledger.projects"))
                    await reader.fetch("SELECT * FROM ledger.department_month ORDER BY month, rank LIMIT 5")
                    await reader.fetch("SELECT id, overdue FROM ledger.projects WHERE overdue LIMIT 5")
                except Exception as err:  # the point is to catch anything
                    errors.append(err)
                await asyncio.sleep(0)

        task = asyncio.create_task(read())
        writer = asyncio.create_task(append_all(log.nc, log.subjects, stream))
        first = await build(conn, log)
        second = await build(conn, log)
        await writer
        end = await caught_up(conn, log)
        stop.set()
        await task
        await reader.close()

    assert errors == []
    assert len(seen) > 50 and min(seen) > 0
    live = await conn.fetchval("SELECT schema FROM ledger_meta.live")
    assert live == second.schema and first.schema != second.schema
    assert await conn.fetchval("SELECT applied_seq FROM ledger.progress") == end
    assert await certificate(conn, live) == (await build(conn, log, name="clean", switch=False)).certificate


async def test_the_replay_cli_prints_equal_certificates_when_nothing_changed(
    log: EventLog, ledger_db: str, nats_url: str, tmp_path: Path
) -> None:
    await append_all(log.nc, log.subjects, commits(9, 400))
    env = ledger_env(nats_url, ledger_db, log.subjects.prefix, tmp_path)

    first = await ledger_cli(env, "replay")
    assert first.returncode == 0, first.stderr
    second = await ledger_cli(env, "replay")
    assert second.returncode == 0, second.stderr
    assert "events/s" in second.stderr and "ETA" in second.stderr
    assert re.search(r"fold and write [\d.]+s, indexes [\d.]+s, catch-up and switch [\d.]+s, certificate [\d.]+s",
                     second.stderr), second.stderr  # where a long rebuild spent its time
    new, prev = (line.split()[-1] for line in second.stdout.splitlines()[:2])
    assert new == prev and len(new) == 64

    db = await asyncpg.connect(ledger_db)
    pid = str(await db.fetchval("SELECT id FROM ledger.projects ORDER BY version DESC LIMIT 1"))
    await db.close()
    shown = await ledger_cli(env, "show", pid)
    assert shown.returncode == 0 and pid in shown.stdout, shown.stderr
    history = await ledger_cli(env, "history", pid)
    assert history.returncode == 0 and "ApplicationReceived" in history.stdout and "via" in history.stdout
    verified = await ledger_cli(env, "verify")
    assert verified.returncode == 0 and "ok" in verified.stdout, verified.stdout + verified.stderr
    assert (await ledger_cli(env, "export", str(tmp_path / "x"))).returncode == 0
    offline = await ledger_cli(env, "verify", "--export", str(tmp_path / "x"))
    assert offline.returncode == 0, offline.stdout
    missing = await ledger_cli(env, "show", "NOPE")
    assert missing.returncode == 1 and "not in the ledger" in missing.stderr


async def test_an_audit_build_and_the_live_ledger_are_compared_at_the_same_sequence_while_the_log_grows(
    log: EventLog, conn: asyncpg.Connection, ledger_db: str, nats_url: str, tmp_path: Path
) -> None:
    from ledger.projection.build import same_point_certificates

    stream = commits(4, 1200)
    await append_all(log.nc, log.subjects, itertools.islice(stream, 600))
    async with live_projector(log, nats_url, ledger_db, tmp_path):
        await caught_up(conn, log)
        audit = await build(conn, log, name="audit_now", switch=False)
        await append_all(log.nc, log.subjects, stream)  # the live ledger moves on; the audit build does not
        live = str(await conn.fetchval("SELECT schema FROM ledger_meta.live"))

        async def live_moved_on() -> bool:
            return int(await conn.fetchval(f'SELECT applied_seq FROM "{live}".progress')) > audit.applied_seq
        await eventually(live_moved_on, what="the live ledger past the audit build")

        seq, audit_cert, live_cert = await same_point_certificates(conn, log, audit.schema, live)

    assert seq > audit.applied_seq
    assert audit_cert == live_cert


async def test_a_replay_drops_what_a_dead_replay_half_built_but_never_a_build_in_progress(
    log: EventLog, conn: asyncpg.Connection, ledger_db: str
) -> None:
    from ledger.projection import catalog

    await append_all(log.nc, log.subjects, commits(5, 40))
    dead = await catalog.new_build(conn, name="dead_replay", kind="building", indexes=False)  # nobody holds it
    other = await asyncpg.connect(ledger_db)
    try:
        running = await catalog.new_build(other, name="running_audit", kind="audit", indexes=False, hold=True)

        built = await build(conn, log, name="next_audit", switch=False)

        assert built.abandoned == (dead,)
        names = {r["name"]: r["status"] for r in await conn.fetch("SELECT name, status FROM ledger_meta.builds")}
        assert dead not in names and names[running] == "building" and names["next_audit"] == "ready"
        assert not await conn.fetchval("SELECT 1 FROM pg_namespace WHERE nspname = $1", dead)
        assert await conn.fetchval("SELECT 1 FROM pg_namespace WHERE nspname = $1", running)
    finally:
        await other.close()  # its session ends: the build it held is abandoned now
    assert (await build(conn, log, name="last_audit", switch=False)).abandoned == ("running_audit",)


async def test_back_to_back_replays_never_drop_the_build_an_idle_live_projector_still_writes_to(
    log: EventLog, conn: asyncpg.Connection, ledger_db: str, nats_url: str, tmp_path: Path
) -> None:
    stream = commits(6, 900)
    await append_all(log.nc, log.subjects, itertools.islice(stream, 300))
    async with live_projector(log, nats_url, ledger_db, tmp_path) as service:
        await caught_up(conn, log)  # and then idle: nothing arrives while the two replays run
        idle_on = str(await conn.fetchval("SELECT schema FROM ledger_meta.live"))

        first = await build(conn, log)
        second = await build(conn, log)

        assert await conn.fetchval("SELECT 1 FROM pg_namespace WHERE nspname = $1", idle_on)
        assert second.in_use == (idle_on,) and first.in_use == ()
        await append_all(log.nc, log.subjects, stream)
        end = await log.last_seq()

        async def applied_without_a_crash() -> bool:
            if service.done():
                service.result()  # raises what the live projector crashed with
            return await applied_seq(conn) >= end

        await eventually(applied_without_a_crash, within=60, what=f"the live ledger at sequence {end}")
        assert not service.done()
        assert await conn.fetchval("SELECT schema FROM ledger_meta.live") == second.schema

        third = await build(conn, log)  # nobody writes to the old build any more: it goes now

    assert third.in_use == ()
    assert not await conn.fetchval("SELECT 1 FROM pg_namespace WHERE nspname = $1", idle_on)
    assert {first.schema, idle_on}.isdisjoint(
        r["name"] for r in await conn.fetch("SELECT name FROM ledger_meta.builds WHERE status <> 'dropped'"))
