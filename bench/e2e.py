"""Benchmark: the whole system (compose's three-node topology, run locally) under concurrent publishers.

    .venv/bin/python -m bench.e2e [--seconds 20] [--publishers 32]

Starts compose.yaml's topology with tests/compose (three nats-servers with R3 streams and fsync always,
Postgres, every service), drives request/reply submissions for --seconds, and reports: sustained
submissions/s, receipt latency p50/p99, append → visible-in-ledger lag p50/p99 (receipt's sequence vs
ledger.progress), alert delay (receipt → webhook delivery of the overdue alert), peak RSS of every
process. In the same run it measures the raw limits on the same cluster: JetStream append to an R3
stream (same durability), ordered read of the log, Postgres COPY, and the raw publish → one committed
row floor; every figure is printed with its ratio to the raw limit.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
import nats.errors
import psutil  # type: ignore[import-untyped]
from nats.js import api

from contracts.receipts import Accepted
from ledger.runtime.ports import free_port
from tests.compose import client as c
from tests.compose.compose_file import load
from tests.compose.conftest import make_secrets
from tests.compose.load import PAST
from tests.compose.receiver import Hook
from tests.compose.topology import Topology


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] * 1000 if len(values) > 1 else float("nan")


class RssMeter:
    def __init__(self, topo: Topology) -> None:
        self.topo, self.peak = topo, dict[str, float]()

    def sample(self) -> None:
        procs = {n: node.process.pid for n, node in self.topo.nats.items() if node.process}
        if self.topo.postgres and self.topo.postgres.process:
            procs["postgres"] = self.topo.postgres.process.pid
        for name, children in self.topo.children.items():
            procs.update({f"{name}-{i}": ch.pid for i, ch in enumerate(children) if ch.pid})
        for name, pid in procs.items():
            try:
                rss = psutil.Process(pid).memory_info().rss / 2**20
            except psutil.Error:
                continue
            self.peak[name] = max(self.peak.get(name, 0.0), rss)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self.sample()
            await asyncio.sleep(0.5)


async def drive(topo: Topology, hook: Hook, seconds: float, publishers: int) -> dict[str, object]:
    nc, db = await c.as_source(topo), await asyncpg.connect(c.database_url(topo))
    acks: dict[int, float] = {}  # stream seq → receipt time
    project_ack: dict[str, float] = {}
    latencies: list[float] = []
    visible: dict[int, float] = {}
    stop = asyncio.Event()

    async def publisher(tag: int) -> None:
        n = 0
        while not stop.is_set():
            n += 1
            pid = f"E{tag}-{n}-{uuid.uuid4().hex[:4]}"
            t = time.perf_counter()
            try:
                receipt = await c.submit(nc, c.application(pid, occurred_at=PAST.isoformat(timespec="seconds")))
            except nats.errors.TimeoutError:
                continue
            now = time.perf_counter()
            if isinstance(receipt, Accepted):
                latencies.append(now - t)
                acks[receipt.project_version] = now
                project_ack[pid] = now

    async def watch_visible() -> None:
        seen = 0
        while not stop.is_set() or seen < max(acks, default=0):
            applied = await c.applied_seq(db)
            now = time.perf_counter()
            for seq in [s for s in acks if seen < s <= applied]:
                visible[seq] = now
            seen = max(seen, applied)
            await asyncio.sleep(0.002)

    watcher = asyncio.create_task(watch_visible())
    started = time.perf_counter()
    tasks = [asyncio.create_task(publisher(i)) for i in range(publishers)]
    await asyncio.sleep(seconds)
    stop.set()
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - started
    await asyncio.wait_for(watcher, 120)
    lags = [visible[s] - t for s, t in acks.items() if s in visible]
    await nc.close()
    await db.close()
    return {"rate": len(latencies) / elapsed, "lat": latencies, "lag": lags, "accepted": len(latencies),
            "project_ack": project_ack}


async def raw_limits(topo: Topology, count: int, concurrency: int) -> dict[str, object]:
    admin = await c.as_admin(topo)
    js = admin.jetstream(timeout=10)
    name = "BENCH_RAW_" + uuid.uuid4().hex[:6].upper()
    await js.add_stream(api.StreamConfig(name=name, subjects=[f"benchraw{name[-6:].lower()}.*"], num_replicas=3))
    payload = c.application("RAW-1")
    queue = iter(range(count))

    async def worker() -> None:
        for i in queue:
            await js.publish(f"benchraw{name[-6:].lower()}.{i % 1000}", payload, headers={"Nats-Msg-Id": f"r{i}"})

    t = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    append = count / (time.perf_counter() - t)

    total = (await js.stream_info(c.SUBJECTS.events_stream)).state.messages
    got = 0
    done = asyncio.Event()

    async def on_msg(_: object) -> None:
        nonlocal got
        got += 1
        if got >= total > 0:
            done.set()

    t = time.perf_counter()
    sub = await js.subscribe(f"{c.SUBJECTS.prefix}.>", ordered_consumer=True, cb=on_msg)
    await asyncio.wait_for(done.wait(), 120)
    read = total / (time.perf_counter() - t)
    await sub.unsubscribe()

    db = await asyncpg.connect(c.database_url(topo))
    await db.execute("CREATE TEMP TABLE bench_copy (seq bigint, body bytea)")
    rows = [(i, payload) for i in range(100_000)]
    t = time.perf_counter()
    for i in range(0, len(rows), 10_000):
        await db.copy_records_to_table("bench_copy", records=rows[i:i + 10_000])
    copy = len(rows) / (time.perf_counter() - t)

    await db.execute("CREATE TEMP TABLE bench_floor (seq bigint PRIMARY KEY)")
    floor: list[float] = []
    subject = f"benchraw{name[-6:].lower()}.floor"
    arrived: asyncio.Queue[int] = asyncio.Queue()

    async def on_floor(msg: object) -> None:
        seq = int(msg.metadata.sequence.stream)  # type: ignore[attr-defined]
        await db.execute("INSERT INTO bench_floor VALUES ($1)", seq)
        await arrived.put(seq)

    sub = await js.subscribe(subject, cb=on_floor, ordered_consumer=True, deliver_policy=api.DeliverPolicy.NEW)
    for _ in range(300):
        t = time.perf_counter()
        await js.publish(subject, payload)
        await arrived.get()
        floor.append(time.perf_counter() - t)
    await sub.unsubscribe()
    await db.close()
    await admin.close()
    return {"append": append, "read": read, "copy": copy, "floor": floor}


async def main(args: argparse.Namespace) -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-e2e-"))
    hook = Hook(free_port())
    await hook.start()
    topo = Topology(load(), work)
    make_secrets(topo.secrets_dir, hook)
    stop = asyncio.Event()
    try:
        await topo.start()
        meter = RssMeter(topo)
        sampler = asyncio.create_task(meter.run(stop))
        sys_ = await drive(topo, hook, args.seconds, args.publishers)
        raw = await raw_limits(topo, args.raw_count, args.publishers)  # after: the log has events to read
        stop.set()
        await sampler
        acks: dict[str, float] = sys_["project_ack"]  # type: ignore[assignment]
        delays = [hook.first_seen[p] - t for p, t in acks.items() if p in hook.first_seen]
        rate, append = float(sys_["rate"]), float(raw["append"])  # type: ignore[arg-type]
        floor99 = pct(raw["floor"], 99)  # type: ignore[arg-type]
        lag: list[float] = sys_["lag"]  # type: ignore[assignment]
        print(f"\nend-to-end benchmark — three-node cluster (R3, sync_interval: always), {args.publishers} "
              f"publishers, {args.seconds:g}s, {sys_['accepted']} accepted")
        print(f"raw JetStream append R3      {append:>9.0f}/s")
        print(f"raw ordered read             {float(raw['read']):>9.0f}/s")  # type: ignore[arg-type]
        print(f"raw Postgres COPY            {float(raw['copy']):>9.0f} rows/s")  # type: ignore[arg-type]
        print(f"raw publish→commit floor     p50 {pct(raw['floor'], 50):.2f} ms  p99 {floor99:.2f} ms")  # type: ignore[arg-type]
        print(f"sustained submissions        {rate:>9.0f}/s   {rate / append:.2f}× raw append (target ≥ 0.8)")
        print(f"receipt latency              p50 {pct(sys_['lat'], 50):.2f} ms  p99 {pct(sys_['lat'], 99):.2f} ms")  # type: ignore[arg-type]
        print(f"append → visible in ledger   p50 {pct(lag, 50):.2f} ms  p99 {pct(lag, 99):.2f} ms   "
              f"{pct(lag, 99) / floor99:.2f}× floor p99 (target ≤ 3)")
        print(f"alert delay (receipt→hook)   p50 {pct(delays, 50):.0f} ms  p99 {pct(delays, 99):.0f} ms "
              f"({len(delays)} alerts)")
        print("peak RSS MB                  " + ", ".join(f"{k} {v:.0f}" for k, v in sorted(meter.peak.items())))
    finally:
        stop.set()
        await topo.stop()
        await hook.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--publishers", type=int, default=32)
    parser.add_argument("--raw-count", type=int, default=5000)
    asyncio.run(main(parser.parse_args()))
