"""Benchmark: append N realistic events, then time a full rebuild against raw baselines, and live lag.

    .venv/bin/python -m bench.replay --events 1000000

Starts its own nats-server (JetStream, sync_interval: always) and Postgres unless --nats-url /
--database-url are given. Measures, in the same run: concurrent pipelined appends; a raw ordered
read of the log; raw COPY of the archive rows; a raw batched projector (archive COPY + ledger
upsert in one transaction per 1 000 rows, fed from memory); the full rebuild (`ledger replay`'s
code path, with switch); and append → visible lag at a steady 500 events/s.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import shutil
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
import nats
import psutil  # type: ignore[import-untyped]
from nats.aio.msg import Msg
from nats.js import api

from bench.raw import CpuMeter, cores, measured, pct, start_spy, stop_spy
from contracts.codec import decode_commit, encode_commit, sha256_hex
from contracts.envelope import Recorded
from contracts.subjects import Subjects
from ledger.eventlog import EventLog, provision
from ledger.logtime import ack_subject_time
from ledger.projection.build import build
from ledger.projection.fold import Batch, fold_commit
from ledger.projection.schema import ARCHIVE
from ledger.runtime.nats import NatsServer, render_config
from ledger.runtime.ports import free_port
from ledger.runtime.postgres import PostgresServer
from ledger.settings import Settings
from ledger.waits import cancel_and_wait
from services.projections.service import run as run_projector
from tests.projections.proc import eventually
from tests.projections.workload import append_all, commits


def say(msg: str) -> None:
    print(msg, flush=True)


async def append_phase(url: str, subjects: Subjects, events: int, appenders: int) -> float:
    async def one(n: int) -> int:
        nc = await nats.connect(url)
        try:
            return await append_all(nc, subjects, commits(100 + n, events // appenders, prefix=f"A{n}"), window=1024)
        finally:
            await nc.close()

    t = time.perf_counter()
    done = sum(await asyncio.gather(*(one(n) for n in range(appenders))))
    rate = done / (time.perf_counter() - t)
    say(f"append   {done:>9,} events  {rate:>9,.0f} events/s  ({appenders} pipelined appenders, fsync always)")
    return done


async def paged_read(log: EventLog) -> None:
    t = time.perf_counter()
    n = 0
    async for _ in log.read(until_seq=min(30_000, await log.last_seq())):
        n += 1
    say(f"EventLog.read {n:>6,} commits {n / (time.perf_counter() - t):>9,.0f} commits/s (LogReader: direct-get pages)")


async def raw_read(log: EventLog, sample: int) -> tuple[float, int, list[Recorded]]:
    """Events/s of a bare ordered push consumer over the whole log, the events read, and the first
    records holding `sample` events."""
    # The raw baseline is a bare ordered push consumer (not our LogReader, which pages while behind
    # to bound its memory): a callback that decodes each commit, nothing else.
    end = await log.last_seq()
    done = asyncio.Event()
    events = held = 0
    kept: list[Recorded] = []
    t = time.perf_counter()

    async def on(msg: Msg) -> None:
        nonlocal events, held
        seq = msg.metadata.sequence.stream
        if done.is_set() or seq > end:
            return
        rec = Recorded(seq=seq, subject=msg.subject, recorded_at=ack_subject_time(msg.reply or ""),
                       hash=sha256_hex(msg.data), commit=decode_commit(msg.data))
        events += len(rec.commit.events)
        if held < sample:  # kept for the raw COPY and projector; their rows are made after the timing
            kept.append(rec)
            held += len(rec.commit.events)
        if seq >= end:
            done.set()

    sub = await log.js.subscribe("", stream=log.subjects.events_stream, ordered_consumer=True, cb=on,
                                 config=api.ConsumerConfig(deliver_policy=api.DeliverPolicy.ALL),
                                 pending_msgs_limit=-1, pending_bytes_limit=-1)
    await done.wait()
    rate = events / (time.perf_counter() - t)
    await sub.unsubscribe()
    say(f"raw read {events:>9,} events  {rate:>9,.0f} events/s  (ordered push consumer, callback, decode)")
    return rate, events, kept


def archive_rows(records: list[Recorded], sample: int) -> list[tuple[object, ...]]:
    """The archive rows of the first `sample` events, for the raw COPY and projector."""
    rows: list[tuple[object, ...]] = []
    for rec in records:
        batch = Batch(prev_seq=rec.seq - 1)
        fold_commit(rec, batch, None)
        rows.extend(batch.archive)
    return rows[:sample]


async def raw_copy(conn: asyncpg.Connection, rows: list[tuple[object, ...]]) -> float:
    await conn.execute("CREATE TABLE bench_copy (LIKE bench_src.archive)")
    t = time.perf_counter()
    for i in range(0, len(rows), 10_000):
        await conn.copy_records_to_table("bench_copy", records=rows[i:i + 10_000])
    rate = len(rows) / (time.perf_counter() - t)
    say(f"raw COPY {len(rows):>9,} rows    {rate:>9,.0f} rows/s    (10 000 per COPY, from memory)")
    return rate


async def raw_projector(conn: asyncpg.Connection, rows: list[tuple[object, ...]]) -> float:
    await conn.execute("CREATE TABLE bench_arch (LIKE bench_src.archive INCLUDING ALL)")
    await conn.execute("CREATE TABLE bench_led (id text PRIMARY KEY, version bigint, type text, actor text)")
    t = time.perf_counter()
    for i in range(0, len(rows), 1000):
        part = rows[i:i + 1000]
        latest = {r[3]: (r[3], r[0], r[7], r[9]) for r in part}
        async with conn.transaction():
            await conn.copy_records_to_table("bench_arch", records=part)
            await conn.execute(
                "INSERT INTO bench_led SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[]) "
                "ON CONFLICT (id) DO UPDATE SET version = excluded.version, type = excluded.type, "
                "actor = excluded.actor", *map(list, zip(*latest.values(), strict=True)))
    rate = len(rows) / (time.perf_counter() - t)
    say(f"raw proj {len(rows):>9,} rows    {rate:>9,.0f} rows/s    (archive COPY + upsert, 1 tx per 1 000)")
    return rate


async def live_lag(log: EventLog, nats_url: str, db_url: str, prefix: str, seconds: float, data: Path) -> None:
    settings = Settings(nats_url=nats_url, database_url=db_url, prefix=prefix, data_dir=data, projector_batch=5000)
    ready = asyncio.Event()
    task = asyncio.create_task(run_projector(settings, ready=ready))
    await asyncio.wait_for(ready.wait(), 600)
    poll = await asyncpg.connect(db_url)
    start = await log.last_seq()

    async def caught_up() -> bool:
        return int(await poll.fetchval("SELECT applied_seq FROM ledger.progress")) >= start

    await eventually(caught_up, 600, "the live projector to catch up")
    sent: dict[int, float] = {}
    lags: list[float] = []
    stop = asyncio.Event()

    async def watch() -> None:  # polls continuously (~0.2 ms a query) and stamps when each seq is visible
        while not stop.is_set() or sent:
            applied = int(await poll.fetchval("SELECT applied_seq FROM ledger.progress"))
            now = time.perf_counter()
            for seq in [s for s in sent if s <= applied]:
                lags.append(now - sent.pop(seq))

    vacuumed: set[str] = set()  # what autovacuum worked on while we measured (a fresh 1 M build invites it)
    samples = active = 0

    async def background() -> None:
        nonlocal samples, active
        conn = await asyncpg.connect(db_url)
        try:
            while not stop.is_set():
                samples += 1
                working = await conn.fetchval(
                    "SELECT coalesce(array_agg(query), '{}') FROM pg_stat_activity "
                    "WHERE backend_type = 'autovacuum worker' AND query <> ''")
                vacuumed.update(working)
                active += bool(working)
                await asyncio.sleep(0.1)
        finally:
            await conn.close()

    watcher = asyncio.create_task(watch())
    sampler = asyncio.create_task(background())
    acks: list[float] = []
    t0 = time.perf_counter()
    for n, (commit, _) in enumerate(itertools.islice(commits(999, int(500 * seconds) + 10, prefix="L"),
                                                     int(500 * seconds))):
        await asyncio.sleep(max(0.0, t0 + n / 500 - time.perf_counter()))
        body, _ = encode_commit(commit)
        t = time.perf_counter()
        ack = await log.js.publish(log.subjects.project(commit.key), body, stream=log.subjects.events_stream)
        acks.append(time.perf_counter() - t)
        sent[ack.seq] = t
    stop.set()
    await asyncio.wait_for(watcher, 60)
    await asyncio.wait_for(sampler, 10)
    await cancel_and_wait([task])
    await poll.close()
    say(f"live lag {len(lags):>9,} events at 500/s: p50 {pct(lags, 50):.1f} ms, p99 {pct(lags, 99):.1f} ms, "
        f"max {max(lags) * 1000:.1f} ms (append sent → visible in ledger.progress)")
    busy = sorted({v.split(" ", 2)[-1][:60] for v in vacuumed})
    say(f"         of which the append's own ack: p50 {pct(acks, 50):.1f} ms, p99 {pct(acks, 99):.1f} ms; "
        f"autovacuum busy in {active} of {samples} samples {busy if busy else ''}")


async def start_profile(folder: Path, conn: asyncpg.Connection) -> asyncio.subprocess.Process:
    """py-spy on this process and its log pump for the rebuild; Postgres's statements counted afresh."""
    await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    await conn.execute("SELECT pg_stat_statements_reset()")
    return await start_spy(os.getpid(), folder / "rebuild.txt", rate=250, subprocesses=True)


async def stop_profile(folder: Path, conn: asyncpg.Connection, spy: asyncio.subprocess.Process) -> None:
    await stop_spy(spy)
    rows = await conn.fetch(
        "SELECT calls, total_exec_time, rows, left(regexp_replace(query, '\\s+', ' ', 'g'), 160) AS query "
        "FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 25")
    lines = [f"{r['total_exec_time'] / 1000:8.2f}s {r['calls']:>8} calls {r['rows']:>10} rows  {r['query']}"
             for r in rows]
    (folder / "statements.txt").write_text("\n".join(lines) + "\n")
    say("statements (Postgres execution time during the rebuild; a COPY's includes waiting for its rows):\n  "
        + "\n  ".join(lines[:12]))


async def main(args: argparse.Namespace) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-replay-"))
    servers: list[NatsServer | PostgresServer] = []
    nats_url, db_url = args.nats_url, args.database_url
    if nats_url is None:
        port = free_port()
        (tmp / "nats.conf").write_text(render_config(port=port, store_dir=tmp / "js"))
        ns = NatsServer(tmp / "nats.conf", port, log_file=tmp / "nats.log")
        ns.start()
        servers.append(ns)
        nats_url = ns.url
    if db_url is None:
        options = {"shared_preload_libraries": "pg_stat_statements"} if args.profile else None
        pg = PostgresServer(tmp / "pg", free_port(), log_file=tmp / "pg.log", options=options)
        pg.start()
        servers.append(pg)
        db_url = pg.url()
    # CPU of the servers this run started (the fold+write and log-pump processes are read apart)
    nats_pids = [s.process.pid for s in servers if isinstance(s, NatsServer) and s.process]
    pg_pids = [s.process.pid for s in servers if isinstance(s, PostgresServer) and s.process]
    meter = CpuMeter({"nats-server": nats_pids}, with_children={"postgres": pg_pids})
    # the raw phases' CPU, this process's included (the rebuild's own is read apart, below)
    raw_meter = CpuMeter({"nats-server": nats_pids, "bench": [os.getpid()]}, with_children={"postgres": pg_pids})
    try:
        admin = await asyncpg.connect(db_url)
        name = "bench_" + uuid.uuid4().hex[:8]
        await admin.execute(f'CREATE DATABASE "{name}"')
        await admin.close()
        db_url = db_url.rsplit("/", 1)[0] + "/" + name
        subjects = Subjects(prefix="b" + uuid.uuid4().hex[:8])
        nc = await nats.connect(nats_url)
        await provision(nc.jetstream(), subjects)
        log = EventLog(nc, subjects)
        conn = await asyncpg.connect(db_url)
        await append_phase(nats_url, subjects, args.events, args.appenders)
        await paged_read(log)
        (read_rate, read_events, kept), read_cpu = await measured(raw_meter, raw_read(log, args.sample))
        rows = archive_rows(kept, args.sample)
        del kept
        await conn.execute("CREATE SCHEMA bench_src")
        await conn.execute(f"CREATE TABLE bench_src.archive ({', '.join(f'{c} {t}' for c, t in ARCHIVE)}, "
                           "PRIMARY KEY (seq, idx))")
        copy_rate = await raw_copy(conn, rows)
        proj_rate, proj_cpu = await measured(raw_meter, raw_projector(conn, rows))
        # The floor under any rebuild on this machine: it must at least read the log as the raw read does
        # and write the rows as the raw projector does. Were every core busy with only that:
        read_us = {k: v / read_events * 1e6 for k, v in read_cpu.items()}
        proj_us = {k: v / len(rows) * 1e6 for k, v in proj_cpu.items()}
        bound = cores() / ((sum(read_us.values()) + sum(proj_us.values())) / 1e6)
        say(f"CPU µs per event: raw read {sum(read_us.values()):.1f} ("
            + ", ".join(f"{k} {v:.1f}" for k, v in read_us.items()) + f"); raw projector {sum(proj_us.values()):.1f} ("
            + ", ".join(f"{k} {v:.1f}" for k, v in proj_us.items()) + ")")
        say(f"bound: reading and writing alone, all {cores()} cores busy → at most {bound:,.0f} events/s = "
            f"{bound / proj_rate:.2f}× the raw projector, before any fold, hash check, Merkle tree, index or "
            "certificate")
        del rows
        spy = await start_profile(args.profile, conn) if args.profile else None
        t = time.perf_counter()
        me = psutil.Process()
        own = me.cpu_times()
        built, cpu = await measured(meter, build(conn, log, batch_size=args.batch))
        took = time.perf_counter() - t
        after = me.cpu_times()  # before py-spy, a child too, is reaped: its CPU is not the log pump's
        if spy is not None:
            await stop_profile(args.profile, conn, spy)
        cpu["fold+write"] = after.user + after.system - own.user - own.system
        cpu["log pump"] = after.children_user + after.children_system - own.children_user - own.children_system
        rate = built.events / took
        say(f"REBUILD  {built.events:>9,} events  {rate:>9,.0f} events/s  in {took:.1f}s "
            f"(incl. indexes + certificate)  certificate {built.certificate[:16]}…")
        say(f"rebuild phases: {built.phases_text()}")
        say(f"ratios: rebuild / raw batched projector = {rate / proj_rate:.2f}×; rebuild / raw read = "
            f"{rate / read_rate:.2f}×; raw COPY / rebuild = {copy_rate / rate:.2f}×; "
            f"1 M events would take ≈ {1_000_000 / rate:.0f}s")
        n = cores()
        say(f"rebuild CPU seconds ({took:.1f}s wall × {n} cores = {n * took:.1f}): " + ", ".join(
            f"{k} {v:.1f}" for k, v in cpu.items()) + f"; idle ≈ {n * took - sum(cpu.values()):.1f}")
        await live_lag(log, nats_url, db_url, subjects.prefix, args.lag_seconds, tmp)
        await conn.close()
        await nc.close()
    finally:
        for server in reversed(servers):
            server.stop()
        shutil.rmtree(tmp, ignore_errors=True)  # its nats and Postgres data: ~3 GB after 1 M events


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--appenders", type=int, default=4)
    parser.add_argument("--batch", type=int, default=5000, help="commits per rebuild transaction")
    parser.add_argument("--sample", type=int, default=200_000, help="rows held in memory for the raw baselines")
    parser.add_argument("--lag-seconds", type=float, default=10.0)
    parser.add_argument("--nats-url")
    parser.add_argument("--database-url")
    parser.add_argument("--profile", type=Path, default=None,
                        help="py-spy the rebuild (and its log pump) into this folder, with Postgres's statement times "
                             "(the figures then include the profilers' overhead)")
    arguments = parser.parse_args()
    if arguments.profile:
        arguments.profile.mkdir(parents=True, exist_ok=True)
    asyncio.run(main(arguments))
