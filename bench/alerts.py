"""bench/alerts: 10 000 deadlines falling due in the same minute → time from due to delivered, alerts/s.

Starts its own nats-server and Postgres unless --nats-url / --database-url are given; a loopback
webhook receiver in its own process (as a robot is on another machine) stands in for the robots,
with the rate limit off. The clock runs at real speed from an offset so that every red alert falls
due a few seconds after start-up: --spread 0 (default) puts all of them on 09:00:00 sharp, the
bureau's real burst; --spread 60 spreads them over the minute.

In the same run it measures the raw limit: plain aiohttp POSTs of an alert-sized body to the same
receiver, at notify's concurrency, with nothing else around them. Reports p50/p99/max of (arrival
at the receiver − due instant), delivered alerts/s and its ratio to the raw POST rate, the floor
that rate puts under a burst (n / raw), and how long the AlertSent records took to land in the log.

    .venv/bin/python -m bench.alerts [--deadlines 10000] [--spread 0]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import multiprocessing as mp
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import asyncpg
import nats
from aiohttp import web

from contracts.subjects import Subjects
from ledger.eventlog import EventLog, provision
from ledger.runtime.nats import NatsServer, render_config
from ledger.runtime.ports import free_port
from ledger.runtime.postgres import PostgresServer
from services.notify.app import running
from services.notify.config import parse_config
from services.notify.policy import AlertPolicy
from tests.notify.history import append, opened, received
from tests.notify.steps import at_local
from tests.waiting import eventually

DUE = at_local(dt.date(2026, 9, 30), 9)


class OffsetClock:
    """Real time shifted so that `DUE` is `lead` seconds from now."""

    def __init__(self, lead: float) -> None:
        self.offset = DUE - dt.datetime.now(dt.UTC) - dt.timedelta(seconds=lead)

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self.offset

    def real(self, at: dt.datetime) -> float:
        return (at - self.offset).timestamp()


def receiver(port: int, ready: mp.synchronize.Event) -> None:  # runs in its own process
    """POST /hook stamps each arrival; GET /arrivals returns and forgets them (JSON [[key, unix time]])."""
    arrivals: list[tuple[str, float]] = []

    async def hook(request: web.Request) -> web.Response:
        await request.read()
        arrivals.append((request.headers["Idempotency-Key"], time.time()))
        return web.Response(status=204)

    async def collect(_: web.Request) -> web.Response:
        out = list(arrivals)
        arrivals.clear()
        return web.json_response(out)

    async def serve() -> None:
        app = web.Application()
        app.router.add_post("/hook", hook)
        app.router.add_get("/arrivals", collect)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        ready.set()
        await asyncio.Event().wait()

    asyncio.run(serve())


async def arrivals_of(session: aiohttp.ClientSession, url: str) -> list[tuple[str, float]]:
    async with session.get(url) as resp:
        return [(str(k), float(t)) for k, t in await resp.json()]


async def raw_posts(session: aiohttp.ClientSession, url: str, n: int, concurrency: int) -> float:
    """Plain POSTs of an alert-sized webhook body: the most a single client process gets through."""
    body = ('{"alerts":[{"alert_key":"k","project_id":"B00000","text":"' + "【红色预警（今日到期）】" * 8
            + '"}]}').encode()
    sem = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with sem, session.post(url, data=body, headers={"Content-Type": "application/json",
                                                                "Idempotency-Key": f"raw-{i}"}) as resp:
            await resp.read()

    await asyncio.gather(*(one(i) for i in range(min(n, 500))))  # warm the connections
    t = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(n)))
    return n / (time.perf_counter() - t)


async def bench(nats_url: str, database_url: str, n: int, spread: float, concurrency: int) -> None:
    port = free_port()
    ready = mp.get_context("spawn").Event()
    proc = mp.get_context("spawn").Process(target=receiver, args=(port, ready), daemon=True)
    proc.start()
    try:
        if not await asyncio.to_thread(ready.wait, 30):
            raise RuntimeError("the webhook receiver did not start")
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
            hook_url, arrivals_url = f"http://127.0.0.1:{port}/hook", f"http://127.0.0.1:{port}/arrivals"
            raw = await raw_posts(session, hook_url, n, concurrency)
            await arrivals_of(session, arrivals_url)
            print(f"raw aiohttp POST to the receiver: {raw:,.0f}/s at concurrency {concurrency} "
                  f"(a burst of {n} cannot be delivered faster than {n / raw:.2f}s)")
            delivered_rate = await notify_phase(nats_url, database_url, n, spread, concurrency, port,
                                                lambda: arrivals_of(session, arrivals_url))
            print(f"ratio: notify delivered / raw POST = {delivered_rate / raw:.2f}×")
    finally:
        proc.kill()
        proc.join(5)


async def notify_phase(nats_url: str, database_url: str, n: int, spread: float, concurrency: int, port: int,
                       collect: Callable[[], Awaitable[list[tuple[str, float]]]]) -> float:
    arrivals: list[tuple[str, float]] = []
    nc = await nats.connect(nats_url)
    subjects = Subjects(prefix="b" + uuid.uuid4().hex[:8])
    await provision(nc.jetstream(), subjects)
    log = EventLog(nc, subjects)
    t0 = time.perf_counter()
    sem = asyncio.Semaphore(128)

    async def one(i: int) -> None:
        async with sem:
            await append(log, f"B{i:05d}", received(f"项目{i}", leader=""), opened())
    await asyncio.gather(*(one(i) for i in range(n)))
    print(f"appended {n} projects with an open stage in {time.perf_counter() - t0:.1f}s")
    config = parse_config({"targets": {"hook": {"channel": "webhook", "url": f"http://127.0.0.1:{port}/hook"}},
                           "routes": [{"levels": ["red"], "targets": ["hook"]}],
                           "transport": {"concurrency": concurrency}})
    schema = "bench_" + uuid.uuid4().hex[:8]
    clock = OffsetClock(lead=600.0)  # far enough ahead for the view to catch up first
    async with running(log, database_url, schema=schema, config=config, policy=AlertPolicy(), clock=clock) as r:
        conn = await asyncpg.connect(database_url)
        last = await log.last_seq()

        async def caught_up() -> bool:
            return await r.position() >= last
        await eventually(caught_up, within=600, poll=0.2, what="view caught up")
        print(f"view caught up ({n} deadlines planned) in {time.perf_counter() - t0:.1f}s")
        clock.offset = DUE - dt.datetime.now(dt.UTC) - dt.timedelta(seconds=3)
        if spread:
            await conn.execute(f"UPDATE {schema}.alerts SET fire_at = fire_at + random() * make_interval(secs => $1)"
                               " WHERE state = 'pending'", spread)
        due = {k: clock.real(at) for k, at in await conn.fetch(f"SELECT alert_key, fire_at FROM {schema}.alerts "
                                                                "WHERE state = 'pending'")}
        r.scheduler.wake()

        async def all_arrived() -> bool:
            arrivals.extend(await collect())
            return len(arrivals) >= n
        await eventually(all_arrived, within=600, poll=0.1, what="all alerts delivered")
        delivered = max(t for _, t in arrivals)  # stamped by the receiver

        async def all_recorded() -> bool:
            return bool(await conn.fetchval(f"SELECT count(*) = 0 FROM {schema}.alerts WHERE recorded_seq IS NULL"))
        await eventually(all_recorded, within=600, poll=0.05, what="all alerts recorded")
        recorded = time.time()
        arrivals.extend(await collect())  # anything sent twice meanwhile
        await conn.execute(f"DROP SCHEMA {schema} CASCADE")
        await conn.close()
    lat = sorted(at - due[k] for k, at in arrivals)
    first_due = min(due.values())
    q = statistics.quantiles(lat, n=100)
    print(f"{n} alerts, due within {spread or 0:.0f}s, rate limit off, one webhook receiver on loopback")
    print(f"due → delivered: p50 {q[49] * 1000:.0f} ms, p99 {q[98] * 1000:.0f} ms, max {lat[-1] * 1000:.0f} ms")
    duplicates = len(arrivals) - len({k for k, _ in arrivals})
    print(f"delivered {n / (delivered - first_due):.0f} alerts/s; all AlertSent recorded "
          f"{recorded - first_due:.1f}s after the first due instant; duplicates: {duplicates}")
    await nc.drain()
    return n / (delivered - first_due)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deadlines", type=int, default=10_000)
    parser.add_argument("--spread", type=float, default=0.0, help="seconds over which the due instants spread")
    parser.add_argument("--concurrency", type=int, default=128, help="notify's (and the raw client's) connections")
    parser.add_argument("--nats-url")
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        nats_server = pg = None
        nats_url, database_url = args.nats_url, args.database_url
        if nats_url is None:
            port = free_port()
            (root / "nats.conf").write_text(render_config(port=port, store_dir=root / "js"))
            nats_server = NatsServer(root / "nats.conf", port, log_file=root / "nats.log")
            nats_server.start()
            nats_url = nats_server.url
        if database_url is None:
            pg = PostgresServer(root / "pg", free_port(), log_file=root / "pg.log",
                                options={"fsync": "off", "synchronous_commit": "off", "max_connections": "100"})
            pg.start()
            database_url = pg.url()
        try:
            await bench(nats_url, database_url, args.deadlines, args.spread, args.concurrency)
        finally:
            if pg is not None:
                pg.stop()
            if nats_server is not None:
                nats_server.stop()


if __name__ == "__main__":
    asyncio.run(main())
