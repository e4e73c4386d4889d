"""The ledger rows a build produces from realistic events, and the archive's insert-only rule."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import gc

import asyncpg
import pytest

from contracts.events import Document, StageOpened, StagePassed
from ledger.eventlog import EventLog
from ledger.projection import catalog, writer
from ledger.projection.build import build
from ledger.projection.certificate import certificate
from ledger.projection.fold import Batch
from ledger.projection.merkle import Frontier
from ledger.projection.projector import Projector
from ledger.projection.schema import TABLES
from ledger.projection.writer import Fenced, LiveMoved
from tests.factories import calendar_2027, commit_after, envelope, received
from tests.projections.conftest import fill
from tests.waiting import eventually, waiting_on_lock


async def test_a_build_projects_every_event_into_the_archive_and_the_ledger(
    log: EventLog, conn: asyncpg.Connection
) -> None:
    events = await fill(log, 1500)
    await log.append(calendar_2027(), expected_version=0)
    events += 1 + await fill(log, 1500, prefix="Q")

    built = await build(conn, log, batch_size=700)

    assert built.applied_seq == await log.last_seq()
    assert await conn.fetchval("SELECT count(*) FROM ledger.archive") == events
    assert await conn.fetchval("SELECT count(DISTINCT (seq, idx)) FROM ledger.archive") == events
    assert await conn.fetchval("SELECT count(*) FROM ledger.archive WHERE kind = 'calendar'") == 1
    projects = await conn.fetchval("SELECT count(*) FROM ledger.projects")
    received = await conn.fetchval("SELECT count(*) FROM ledger.archive WHERE type = 'ApplicationReceived'")
    assert projects == received
    passed = await conn.fetchval("SELECT count(*) FROM ledger.archive WHERE type = 'StagePassed'")
    assert await conn.fetchval("SELECT sum(completed) FROM ledger.department_month") == passed
    categories = {r[0] for r in await conn.fetch("SELECT DISTINCT category FROM ledger.projects")}
    assert len(categories) >= 6 and {"early_study", "land_needed"} <= categories
    assert await conn.fetchval("SELECT count(*) FROM ledger.project_blockers WHERE status = 'open'") > 0
    assert await conn.fetchval("SELECT sum(issued) FROM ledger.permits") > 0
    assert await conn.fetchval("SELECT count(*) FROM ledger.alerts") > 0
    ranked = await conn.fetch("SELECT rank, on_time_rate FROM ledger.department_month ORDER BY month, rank")
    assert ranked[0]["rank"] == 1
    assert gc.isenabled()  # the build pauses the cyclic collector only while it runs
    # planner statistics (column statistics come only from ANALYZE) exist before readers are switched to it
    analyzed = {r[0] for r in await conn.fetch("SELECT tablename FROM pg_stats WHERE schemaname = $1", built.schema)}
    assert set(TABLES) <= analyzed


async def test_two_builds_of_the_same_log_have_the_same_certificate_whatever_the_batch_size(
    log: EventLog, conn: asyncpg.Connection
) -> None:
    await fill(log, 2000)
    first = await build(conn, log, batch_size=97, switch=False, name="audit_a")
    second = await build(conn, log, batch_size=5000)
    assert first.certificate == second.certificate == await certificate(conn, second.schema)


async def test_a_fresh_build_whose_projects_outgrow_its_cache_writes_the_same_ledger(
    log: EventLog, conn: asyncpg.Connection
) -> None:
    # A fresh build writes its ledger rows once at the end; when the cache overflows it writes them
    # early and goes on with per-batch upserts, loading evicted projects back from the schema.
    await fill(log, 2000)
    whole = await build(conn, log, switch=False, name="audit_whole")
    schema = await catalog.new_build(conn, name="audit_small_cache", kind="audit")
    projector = Projector(conn, log, schema, fresh=True, batch_size=97, cache_limit=25)
    assert await projector.run(until_seq=await log.last_seq()) == whole.applied_seq
    assert not projector.fresh  # the overflow path was taken
    assert await conn.fetchval(f"SELECT count(*) FROM {schema}.projects") == await conn.fetchval(
        "SELECT count(*) FROM audit_whole.projects") > 25
    assert await certificate(conn, schema) == whole.certificate


async def test_the_archive_refuses_update_delete_and_truncate(log: EventLog, conn: asyncpg.Connection) -> None:
    await fill(log, 50)
    built = await build(conn, log)
    for sql in (f"UPDATE {built.schema}.archive SET actor = 'x'", f"DELETE FROM {built.schema}.archive",
                f"TRUNCATE {built.schema}.archive"):
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="insert-only"):
            await conn.execute(sql)
    assert await conn.fetchval("SELECT count(*) FROM ledger.archive") == 50


@pytest.mark.parametrize("small", [0, 10**9], ids=["copied", "from-arrays"])
async def test_batches_that_upsert_their_rows_write_the_same_ledger_from_arrays_or_copies(
    log: EventLog, conn: asyncpg.Connection, small: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Not fresh, as the live projector: every batch upserts the rows it touched. Up to writer.SMALL rows
    # of a table go as one INSERT from an array of the table's row type, more as COPY + INSERT.
    monkeypatch.setattr(writer, "SMALL", small)
    await fill(log, 2000)
    whole = await build(conn, log, switch=False, name="audit_whole")
    schema = await catalog.new_build(conn, name="audit_upserted", kind="audit")
    projector = Projector(conn, log, schema, batch_size=50)
    assert await projector.run(until_seq=await log.last_seq()) == whole.applied_seq
    assert await certificate(conn, schema) == whole.certificate


async def test_permit_areas_add_up_exactly_whatever_the_batching(log: EventLog, conn: asyncpg.Connection) -> None:
    # Areas carry any number of decimals. Summed into numeric(20,2), each batch's sum was rounded before
    # it was added: one batch gave 2000.01 and two gave 2000.02, and the live ledger's certificate
    # differed from a rebuild's with nothing wrong.
    opened = StageOpened(stage="land_use_approval", department="用地科", opened_on=dt.date(2026, 3, 2),
                         limit_days=4, statutory_days=20, due_on=dt.date(2026, 3, 6), rule="test",
                         calendar_version="test")
    passed = StagePassed(stage="land_use_approval", passed_on=dt.date(2026, 3, 5), working_days_used=3,
                         on_time=True, early=True, document=Document(kind="land_use_planning_permit",
                                                                      land_area_m2=1000.005, floor_area_m2=0.125))
    for pid in ("P-area-1", "P-area-2"):
        loaded = await log.load_project(pid)
        await log.append(commit_after(loaded, pid, [received(pid), envelope(pid, opened), envelope(pid, passed)]),
                         expected_version=0)
    whole = await build(conn, log, switch=False, name="audit_areas_whole")
    schema = await catalog.new_build(conn, name="audit_areas_one_by_one", kind="audit")
    assert await Projector(conn, log, schema, batch_size=1).run(until_seq=await log.last_seq()) == 2

    for built in (whole.schema, schema):
        row = await conn.fetchrow(f"SELECT issued, land_area_m2::text, floor_area_m2::text FROM {built}.permits")
        assert tuple(row) == (2, "2000.010", "0.250"), built
    assert await certificate(conn, schema) == whole.certificate


async def live_projector_at(log: EventLog, conn: asyncpg.Connection, seq: int) -> tuple[str, Projector]:
    """100 events in the log, a new live build, and its live projector having applied up to `seq`."""
    await fill(log, 100)
    schema = await catalog.new_build(conn)
    await catalog.switch_live(conn, schema)
    projector = Projector(conn, log, schema, live=True, batch_size=10)
    assert await projector.run(until_seq=seq) == seq
    return schema, projector


async def test_a_live_writer_refuses_a_batch_when_another_writer_ran_or_the_live_build_moved(
    log: EventLog, conn: asyncpg.Connection
) -> None:
    first, projector = await live_projector_at(log, conn, 30)
    stale = Batch(prev_seq=20, last_seq=25, commits=5)  # as if written from 20 while another writer reached 30
    with pytest.raises(Fenced, match="no longer 20"):
        await projector.writer.write(stale, {}, Frontier())
    second = await catalog.new_build(conn)
    await catalog.switch_live(conn, second)
    with pytest.raises(LiveMoved) as moved:
        await projector.run(until_seq=40)
    assert moved.value.schema == second
    assert await conn.fetchval(f"SELECT applied_seq FROM {first}.progress") == 30  # no refused batch wrote
    assert await conn.fetchval(f"SELECT count(*) FROM {first}.archive") == 30


async def test_a_live_write_waits_for_a_switch_in_progress_then_finds_the_live_build_moved(
    log: EventLog, conn: asyncpg.Connection, ledger_db: str
) -> None:
    first, projector = await live_projector_at(log, conn, 20)
    second = await catalog.new_build(conn)
    switcher, watcher = await asyncpg.connect(ledger_db), await asyncpg.connect(ledger_db)
    try:
        held = switcher.transaction()
        await held.start()
        await catalog.switch_live(switcher, second)  # done, but not committed: its row lock is held
        writing = asyncio.create_task(projector.run(until_seq=30))
        await eventually(functools.partial(waiting_on_lock, watcher, conn.get_server_pid()), within=10,
                         what="the live write waiting for the switch's lock")
        await held.commit()
        with pytest.raises(LiveMoved) as moved:
            await asyncio.wait_for(writing, 10)
        assert moved.value.schema == second
        assert await watcher.fetchval(f"SELECT applied_seq FROM {first}.progress") == 20
    finally:
        await switcher.close()
        await watcher.close()


async def test_a_switch_waits_for_a_live_write_in_progress_so_no_write_lands_in_a_build_after_it_was_switched_out(
    log: EventLog, conn: asyncpg.Connection, ledger_db: str
) -> None:
    first, projector = await live_projector_at(log, conn, 20)
    switcher, watcher = await asyncpg.connect(ledger_db), await asyncpg.connect(ledger_db)
    try:
        second = await catalog.new_build(switcher)
        writing = conn.transaction()  # the live writer's batches, not yet committed: each holds the live row FOR SHARE
        await writing.start()
        assert await projector.run(until_seq=30) == 30
        switching = asyncio.create_task(catalog.switch_live(switcher, second))
        await eventually(functools.partial(waiting_on_lock, watcher, switcher.get_server_pid()), within=10,
                         what="the switch waiting for the live write's lock")
        assert not switching.done()
        await writing.commit()
        assert await asyncio.wait_for(switching, 10) == first
        assert await watcher.fetchval(f"SELECT applied_seq FROM {first}.progress") == 30
        assert await watcher.fetchval("SELECT schema FROM ledger_meta.live WHERE id = 1") == second
    finally:
        await switcher.close()
        await watcher.close()
