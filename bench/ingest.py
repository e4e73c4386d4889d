"""Benchmark: intake's ingest paths against raw JetStream append on the same server and durability.

    .venv/bin/python -m bench.ingest [--count 5000] [--concurrency 64] [--rounds 3] [--rate 500] [--replicas 1]
                                     [--paths rr,inbound,paced] [--sweep 128,256] [--profile DIR]

Starts its own nats-server (JetStream, sync_interval: always, the generated auth config) and
Postgres, runs `python -m services.intake` as its own process (as `ledger up` would), then in
one run measures: raw js.publish appends (N concurrent publishers, same payload size); request/
reply submissions (N concurrent publishers, each a new project); fire-and-forget through the
inbound stream (N concurrent publishers, receipts awaited on the receipts subject), and with it the
bare floor under that path (the same publishers into a new stream with the inbound stream's limits
retention, one pull consumer that only fetches and acks: write, deliver, ack, no work) and the same
with work-queue retention (each ack also removes its message: why inbound is not a work queue,
services/intake/streams.py); and receipt latency at a steady --rate submissions/s. Prints
submissions/s, p50/p99 latency, ratio to raw. The raw append, the floors and both paths are
measured --rounds times, each round's ratios against that round's raw append, and the median is
reported with the range (the machine's speed drifts).
--paths picks the phases (raw always runs: it is the baseline); --replicas starts that many intake
processes (one queue group); --profile DIR records each intake process with py-spy (raw, collapsed
stacks, DIR/intake-<n>.txt) from the first round to the end of the last measured phase. --sweep N,M repeats raw
and request/reply at those publisher counts (same run, same servers) and prints the ratio at each:
raw appends wait for one fsync each, so raw stays flat as publishers grow, while intake's group
commit writes more submissions per fsync.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import nats
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js import api

from bench.raw import CpuMeter, measured, pct, queue_rate, raw_append_rate, start_spy, stop_spy
from contracts.subjects import Subjects
from ledger.eventlog import provision
from ledger.runtime.auth import ADMIN, Source, ensure_secrets, inbox_prefix, render_authorization
from ledger.runtime.nats import NatsServer, render_config
from ledger.runtime.ports import free_port
from ledger.runtime.postgres import PostgresServer
from tests.intake import builders as b

SUBJECTS = Subjects(prefix="bench")
RAW, RR, INBOUND = "raw js.publish append", "request/reply", "inbound stream → receipt"
LIMITS_FLOOR, WQ_FLOOR = "raw limits queue: publish, fetch, ack", "raw work queue: publish, fetch, ack"
SOURCE = Source(id="window", name="bench window", password="bench-" + uuid.uuid4().hex)
_ids = itertools.count()


def body() -> bytes:
    return b.raw(b.submit_app(f"B-{next(_ids)}", occurred_at="2026-01-05T09:00:00+08:00"))


async def request_reply(nc: NATS, count: int, concurrency: int) -> tuple[float, list[float], int]:
    latencies: list[float] = []
    accepted = 0
    queue = iter(range(count))

    async def worker() -> None:
        nonlocal accepted
        for _ in queue:
            t = time.perf_counter()
            reply = await nc.request(SUBJECTS.submit(SOURCE.id), body(), timeout=30)
            latencies.append(time.perf_counter() - t)
            accepted += b'"accepted"' in reply.data

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return accepted / (time.perf_counter() - started), latencies, accepted


async def inbound(nc: NATS, count: int, concurrency: int) -> tuple[float, list[float], int]:
    sent: dict[str, float] = {}
    latencies: list[float] = []
    done = asyncio.Event()
    accepted = 0

    async def on_receipt(msg: Msg) -> None:
        nonlocal accepted
        key = msg.data.split(b'"idempotency_key":"', 1)[1].split(b'"', 1)[0].decode()
        latencies.append(time.perf_counter() - sent[key])
        accepted += b'"accepted"' in msg.data
        if len(latencies) >= count:
            done.set()

    sub = await nc.subscribe(SUBJECTS.receipts(SOURCE.id), cb=on_receipt, pending_msgs_limit=-1)
    js = nc.jetstream()
    queue = iter(range(count))

    async def worker() -> None:
        for _ in queue:
            key = uuid.uuid4().hex
            doc = b.submit_app(f"I-{next(_ids)}", key=key, occurred_at="2026-01-05T09:00:00+08:00")
            sent[key] = time.perf_counter()
            await js.publish(SUBJECTS.inbound(SOURCE.id), b.raw(doc))

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    await asyncio.wait_for(done.wait(), 300)
    rate = accepted / (time.perf_counter() - started)
    await sub.unsubscribe()
    return rate, latencies, accepted


async def paced(nc: NATS, rate: int, seconds: float) -> list[float]:
    latencies: list[float] = []

    async def one(due: float) -> None:  # latency from when it was due, not from when the loop got to it
        await nc.request(SUBJECTS.submit(SOURCE.id), body(), timeout=30)
        latencies.append(time.perf_counter() - due)

    tasks = []
    start = time.perf_counter()
    for i in range(int(rate * seconds)):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(start + i / rate)))
    await asyncio.gather(*tasks)
    return latencies


async def relay(process: asyncio.subprocess.Process, ready: asyncio.Event) -> None:
    """Pass an intake's log through to ours; set `ready` at its 'intake ready' line."""
    assert process.stderr is not None
    async for line in process.stderr:
        sys.stderr.buffer.write(line)
        if b"intake ready" in line:
            ready.set()


async def main(args: argparse.Namespace) -> None:
    root = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    passwords = ensure_secrets(root / "auth")
    (root / "sources.toml").write_text(f'[sources.window]\npassword = "{SOURCE.password}"\n')
    port = free_port()
    conf = root / "nats.conf"
    conf.write_text(render_config(port=port, store_dir=root / "js",
                                  authorization=render_authorization([SUBJECTS], {"window": SOURCE}, passwords)))
    server = NatsServer(conf, port, log_file=root / "nats.log")
    server.start()
    pg = PostgresServer(root / "pg", free_port(), log_file=root / "pg.log")
    pg.start()
    env = {**os.environ, "LEDGER_NATS_URL": server.url, "LEDGER_DATABASE_URL": pg.url(), "LEDGER_PREFIX": "bench",
           "LEDGER_NATS_USER": "intake", "LEDGER_NATS_PASSWORD": passwords["intake"],
           "LEDGER_SOURCES_FILE": str(root / "sources.toml")}
    admin = await nats.connect(server.url, user=ADMIN, password=passwords[ADMIN])
    await provision(admin.jetstream(), SUBJECTS)
    intakes = [await asyncio.create_subprocess_exec(sys.executable, "-m", "services.intake", env=env,
                                                    stderr=asyncio.subprocess.PIPE) for _ in range(args.replicas)]
    ready = [asyncio.Event() for _ in intakes]
    relays = [asyncio.create_task(relay(p, r)) for p, r in zip(intakes, ready, strict=True)]
    spies: list[asyncio.subprocess.Process] = []
    source = await nats.connect(server.url, user=SOURCE.id, password=SOURCE.password,
                                inbox_prefix=inbox_prefix(SOURCE.id), pending_size=64 << 20)
    try:
        async with asyncio.timeout(60):
            while True:
                try:
                    await source.request(SUBJECTS.submit(SOURCE.id), body(), timeout=1)
                    break
                except (nats.errors.NoRespondersError, nats.errors.TimeoutError):
                    await asyncio.sleep(0.1)
        async with asyncio.timeout(60):  # every replica ready (one answered above)
            for r in ready:
                await r.wait()
        size = len(body())
        if args.profile:
            args.profile.mkdir(parents=True, exist_ok=True)
            spies = [await start_spy(p.pid, args.profile / f"intake-{n}.txt", rate=1000) for n, p in enumerate(intakes)]
        assert server.process is not None and pg.process is not None
        meter = CpuMeter({"intake": [p.pid for p in intakes], "nats": [server.process.pid], "bench": [os.getpid()]},
                         with_children={"pg": [pg.process.pid]})
        # Rounds: this machine's speed drifts by ±15 % within minutes, so each round measures raw
        # append and then every path right after it; a path's ratio is the median of its rounds' ratios.
        rounds: list[dict[str, float]] = []  # per round: name → submissions/s ("raw" included)
        latencies: dict[str, list[float]] = {}
        accepted: dict[str, int] = {}
        cpu: dict[str, dict[str, float]] = {}

        def add_cpu(name: str, used: dict[str, float]) -> None:
            cpu[name] = {k: cpu.get(name, {}).get(k, 0.0) + v for k, v in used.items()}

        for n in range(args.rounds):
            got = {RAW: await raw_append_rate(admin.jetstream(), f"BENCH_RAW{n}", b"x" * size, args.count,
                                             args.concurrency)}
            if "inbound" in args.paths:
                consumer = await nats.connect(server.url, user=ADMIN, password=passwords[ADMIN])
                try:
                    for label, name, retention in (
                            (LIMITS_FLOOR, f"BENCH_Q{n}", api.RetentionPolicy.LIMITS),
                            (WQ_FLOOR, f"BENCH_WQ{n}", api.RetentionPolicy.WORK_QUEUE)):
                        got[label] = await queue_rate(admin, consumer, name, b"x" * size, args.count,
                                                      args.concurrency, retention)
                finally:
                    await consumer.close()
            paths = [(RR, request_reply)] if "rr" in args.paths else []
            paths += [(INBOUND, inbound)] if "inbound" in args.paths else []
            for name, path in paths:
                (rate, lat, ok), used = await measured(meter, path(source, args.count, args.concurrency))
                got[name] = rate
                latencies.setdefault(name, []).extend(lat)
                accepted[name] = accepted.get(name, 0) + ok
                add_cpu(name, used)
            rounds.append(got)
            print(f"round {n + 1}: raw {got[RAW]:,.0f}/s; " + "; ".join(
                f"{k.split(':')[0]} {v / got[RAW]:.2f}" for k, v in got.items() if k != RAW), flush=True)
        sweep = []
        for publishers in args.sweep:
            raw_n = await raw_append_rate(admin.jetstream(), f"BENCH_RAW_{publishers}", b"x" * size, args.count,
                                          publishers)
            rate_n, lat_n, ok_n = await request_reply(source, args.count, publishers)
            sweep.append((publishers, raw_n, rate_n, lat_n, ok_n))
        steady: list[float] = []
        if "paced" in args.paths:
            steady, used = await measured(meter, paced(source, args.rate, args.seconds))
            add_cpu(f"request/reply at {args.rate}/s", used)
        for spy in spies:
            await stop_spy(spy)
        print(f"\nintake ingest benchmark — {args.count} submissions per path and round, {args.rounds} round(s), "
              f"{args.concurrency} concurrent publishers, {size}-byte submissions, sync_interval: always, "
              f"{args.replicas} intake process(es)")
        print(f"{'path':<40}{'subm/s':>10}{'ratio':>8}{'range':>12}{'p50 ms':>9}{'p99 ms':>9}")
        for name in rounds[0]:
            rates = [r[name] for r in rounds]
            ratios = [r[name] / r[RAW] for r in rounds]
            label = name + (f" ({accepted[name]} accepted)" if name in accepted else "")
            lat = latencies.get(name, [])
            spread = f"{min(ratios):.2f}–{max(ratios):.2f}" if name != RAW and len(rounds) > 1 else ""
            print(f"{label:<40}{statistics.median(rates):>10.0f}{statistics.median(ratios):>8.2f}{spread:>12}"
                  + (f"{pct(lat, 50):>9.2f}{pct(lat, 99):>9.2f}" if lat else ""))
        print("(subm/s: median of the rounds; ratio: median of each round's ratio to that round's raw append)")
        if sweep:
            print(f"\n{'publishers':<12}{'raw/s':>8}{'rr/s':>8}{'ratio':>8}{'p50 ms':>9}{'p99 ms':>9}  (request/reply)")
            for publishers, raw_n, rate_n, lat_n, ok_n in sweep:
                print(f"{publishers:<12}{raw_n:>8.0f}{rate_n:>8.0f}{rate_n / raw_n:>8.2f}{pct(lat_n, 50):>9.2f}"
                      f"{pct(lat_n, 99):>9.2f}" + ("" if ok_n == args.count else f"  ({ok_n} accepted)"))
        if steady:
            print(f"{f'request/reply at {args.rate}/s for {args.seconds:g}s':<40}{'':>10}{'':>8}"
                  f"{pct(steady, 50):>9.2f}{pct(steady, 99):>9.2f}")
        print(f"\nCPU ms per submission during each phase (user + system){'':>2}{'intake':>9}{'nats':>8}{'pg':>8}"
              f"{'bench':>8}")
        for name, used in cpu.items():
            submissions = args.count * args.rounds if name in (RR, INBOUND) else len(steady)
            print(f"{name:<57}" + "".join(f"{used[k] * 1000 / max(submissions, 1):>8.3f}"
                                          for k in ("intake", "nats", "pg", "bench")))
    finally:
        for intake in intakes:
            if intake.returncode is None:  # one that died already would raise ProcessLookupError
                with contextlib.suppress(ProcessLookupError):  # and skip the servers' stop below
                    intake.terminate()
            await intake.wait()
        await asyncio.gather(*relays, return_exceptions=True)
        await source.close()
        await admin.close()
        pg.stop()
        server.stop()
        shutil.rmtree(root, ignore_errors=True)  # its nats and Postgres data: ~100 MB a run


def _at_least_one(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"'{value}' is not a whole number of at least 1")
    return int(value)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--rate", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--replicas", type=int, default=1, help="intake processes (one queue group)")
    parser.add_argument("--rounds", type=_at_least_one, default=3,
                        help="rounds of raw + each path (ratios: their median)")
    parser.add_argument("--paths", type=lambda v: set(v.split(",")), default={"rr", "inbound", "paced"},
                        help="phases to run after raw: any of rr,inbound,paced (default all)")
    parser.add_argument("--sweep", type=lambda v: [int(n) for n in v.split(",") if n], default=[],
                        help="also measure raw and request/reply at these publisher counts, e.g. 128,256")
    parser.add_argument("--profile", type=Path, default=None, help="py-spy each intake process into this folder")
    asyncio.run(main(parser.parse_args()))
