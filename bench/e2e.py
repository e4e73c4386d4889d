"""Benchmark: the whole system — embedded single node and compose's three-node cluster — under concurrent publishers.

    .venv/bin/python -m bench.e2e [--topology both|single|cluster] [--seconds 20] [--publishers 32] [--rate 500]
    .venv/bin/python -m bench.e2e --topology single --preload 1000000 [--preload-live]   # RSS after 1 M events

Topologies (`--topology`, default `both`, single first), each in a fresh temporary folder on free ports:
- single: what `ledger up` runs (ledger.runtime.stack): one embedded nats-server (sync_interval: always, R1
  stream), embedded Postgres, each service once under the runtime's Supervisor;
- cluster: compose.yaml's topology run locally by tests/compose (three nats-servers with R3 streams and
  sync_interval: always, Postgres, every service with its replicas).
In both, notify's one alert route is a webhook receiver on loopback.

Each drives request/reply submissions (new applications whose first stage is already overdue) for --seconds,
back to back or paced (--rate), and reports: sustained submissions/s, receipt latency p50/p99, append →
visible-in-ledger lag p50/p99 (receipt's sequence vs ledger.progress), alert delay (receipt → webhook delivery
of the overdue alert), the CPU seconds each process used during the load, peak RSS of every process.
Once the services are done with the load (every consumer at the log's end, every alert sent), it
measures in the same run the raw limits on the same servers at the same durability: JetStream
append to an R1 / R3 stream, ordered read of the log, Postgres COPY, and the raw publish → one committed row
floor; every figure is printed with its ratio to the raw limit.

--preload N first appends N realistic events straight into the log (tests/projections/workload.py: a district's
projects walking their tracks, 4 pipelined appenders). Single: before the services start, so they catch up
from the backlog (the worst case for memory), or with --preload-live while they run and follow it; cluster:
compose starts everything at once, so always while they run. It then waits (--catch-up-timeout) until the
projector, notify's deadline view and stages' reactions have passed the preloaded end, and until the system is
quiet (every consumer at the log's end, no alert due or being sent: notify sends the preloaded projects'
overdue alerts and records them in the log), timing each and printing progress every 15 s; reports every
process's peak RSS over preload and catch-up and once caught up, flags any service above 200 MB (issue #8's
target after 1 M events), and counts service restarts; then runs the timed load as usual. With 1 M events on
2 cores: ~6 min of preload, then the catch-up (stages' reactions, ~600 commits/s, are the slowest).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import asyncpg
import nats
import nats.errors
import nats.js.errors
import psutil  # type: ignore[import-untyped]
from nats.aio.client import Client as NATS
from nats.js import api

from bench.raw import CpuMeter, cores, pct, raw_append_rate
from contracts.receipts import Accepted
from ledger.natsconn import sources_file
from ledger.runtime.auth import ADMIN, inbox_prefix, load_sources
from ledger.runtime.health import check
from ledger.runtime.ports import free_port
from ledger.runtime.services import ServiceSpec
from ledger.runtime.stack import Servers, start_servers, start_services
from ledger.runtime.supervisor import Supervisor, emit
from ledger.settings import Settings, load_settings
from tests.compose import client as c
from tests.compose.compose_file import load
from tests.compose.conftest import make_secrets
from tests.compose.load import PAST
from tests.compose.receiver import Hook
from tests.compose.topology import Topology
from tests.projections.workload import append_all, commits
from tests.waiting import eventually

TARGET_MB = 200.0  # issue #8: no service above 200 MB RSS after 1 M events
SERVERS = ("nats", "postgres")  # processes the RSS target does not apply to
CONSUMERS = ("projections", "notify view", "stages reactions")  # what reads the whole log, timed after a preload
DUE_ALERTS = "SELECT count(*) FROM notify.alerts WHERE (state = 'pending' AND fire_at <= now()) OR state = 'sending'"



# -- the two systems ---------------------------------------------------------------------------------------


class System(Protocol):
    title: str
    replicas: int
    live_preload: bool  # the preload runs while the services follow it (else before they start)

    async def start(self, preload: Callable[[], Awaitable[None]], *, within: float) -> None:
        """Start everything, services healthy `within` seconds; `preload` runs once the event log exists."""

    async def stop(self) -> None: ...
    def restarts(self) -> dict[str, int]: ...
    async def admin(self) -> NATS: ...
    async def source(self) -> NATS: ...
    def database_url(self) -> str: ...
    def pids(self) -> dict[str, int]: ...


class Single:
    """`ledger up`'s system on free ports: embedded nats-server and Postgres, each service once."""

    title = "single node (embedded nats-server, R1, sync_interval: always)"
    replicas = 1

    def __init__(self, work: Path, hook: Hook, *, live_preload: bool = False) -> None:
        self.live_preload = live_preload  # preload with the services running instead of before they start
        data = (work / "data").resolve()
        self.settings = Settings(data_dir=data, nats_port=free_port(), postgres_port=free_port(),
                                 api_port=free_port())
        routes, secrets = hook.config()  # the operator's alert routes: every alert to the webhook receiver
        (work / "notify.toml").write_text(routes)
        (work / "notify-secrets.toml").write_text(secrets)
        self.env = {"LEDGER_DATA_DIR": str(data), "LEDGER_NOTIFY_CONFIG": str(work / "notify.toml"),
                    "LEDGER_NOTIFY_SECRETS_FILE": str(work / "notify-secrets.toml")}
        self.supervisor = Supervisor()
        self.servers: Servers | None = None

    async def start(self, preload: Callable[[], Awaitable[None]], *, within: float) -> None:
        self.servers = await start_servers(self.supervisor, self.settings)
        if not self.live_preload:
            await preload()
        specs = await start_services(self.supervisor, self.settings, self.servers, extra_env=self.env)
        await asyncio.gather(*(self._healthy(spec, within) for spec in specs))
        if self.live_preload:
            await preload()

    async def _healthy(self, spec: ServiceSpec, within: float) -> None:
        """compose's health check (ledger.runtime.health) with the service's own settings and identity."""
        own = load_settings(spec.env)

        async def ok() -> bool:
            try:
                await asyncio.wait_for(check(spec.name, own), 10)
            except Exception:  # any failure is "not yet healthy"
                return False
            return True

        await eventually(ok, within=within, what=f"{spec.name} healthy", poll=0.2)

    async def stop(self) -> None:
        await self.supervisor.stop_all()  # services, then Postgres, then nats

    def _servers(self) -> Servers:
        assert self.servers is not None, "not started"
        return self.servers

    async def admin(self) -> NATS:
        servers = self._servers()
        assert servers.passwords is not None  # the embedded nats-server: its identities are generated
        return await nats.connect(servers.nats_url, user=ADMIN, password=servers.passwords[ADMIN], name="bench-admin")

    async def source(self) -> NATS:
        window = load_sources(sources_file(self.settings))["window"]  # the demo sources `ledger up` generated
        return await nats.connect(self._servers().nats_url, user=window.id, password=window.password, name=window.id,
                                  inbox_prefix=inbox_prefix(window.id), pending_size=64 << 20)

    def database_url(self) -> str:
        return self._servers().database_url

    def pids(self) -> dict[str, int]:
        return {ch.spec.name: ch.pid for ch in self.supervisor.children if ch.pid is not None}

    def restarts(self) -> dict[str, int]:
        return {ch.spec.name: ch.starts - 1 for ch in self.supervisor.children if ch.starts > 1}


class Cluster:
    """compose.yaml's topology, run locally by tests/compose."""

    title = "three-node cluster (compose.yaml, R3, sync_interval: always)"
    replicas = 3
    live_preload = True  # compose starts the services with the log

    def __init__(self, work: Path, hook: Hook) -> None:
        self.topo = Topology(load(), work)
        make_secrets(self.topo.secrets_dir, hook)

    async def start(self, preload: Callable[[], Awaitable[None]], *, within: float) -> None:
        await self.topo.start(within=max(180.0, within))
        await preload()

    async def stop(self) -> None:
        await self.topo.stop()

    async def admin(self) -> NATS:
        return await c.as_admin(self.topo)

    async def source(self) -> NATS:
        return await c.as_source(self.topo)

    def database_url(self) -> str:
        return c.database_url(self.topo)

    def pids(self) -> dict[str, int]:
        procs = {n: node.process.pid for n, node in self.topo.nats.items() if node.process}
        if self.topo.postgres and self.topo.postgres.process:
            procs["postgres"] = self.topo.postgres.process.pid
        for name, children in self.topo.children.items():
            procs.update({f"{name}-{i}": ch.pid for i, ch in enumerate(children) if ch.pid})
        return procs

    def restarts(self) -> dict[str, int]:
        return {ch.spec.name: ch.starts - 1 for ch in self.topo.supervisor.children if ch.starts > 1}


# -- measurements ------------------------------------------------------------------------------------------


def _rss_mb(proc: psutil.Process) -> float | None:
    try:
        return float(proc.memory_info().rss) / 2**20
    except psutil.Error:
        return None


class RssMeter:
    """Peak and latest RSS (MB) of every process of a system, and of the largest child each one forked."""

    def __init__(self, pids: Callable[[], dict[str, int]]) -> None:
        self.pids, self.peak, self.last = pids, dict[str, float](), dict[str, float]()

    def sample(self) -> None:
        for name, pid in self.pids().items():
            try:
                proc = psutil.Process(pid)
                kids = [r for r in map(_rss_mb, proc.children(recursive=True)) if r is not None]
            except psutil.Error:
                continue
            for key, rss in ((name, _rss_mb(proc)), (f"{name} (largest child)", max(kids, default=None))):
                if rss is not None:
                    self.last[key] = rss
                    self.peak[key] = max(self.peak.get(key, 0.0), rss)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self.sample()
            try:
                await asyncio.wait_for(stop.wait(), 0.5)
            except TimeoutError:
                pass


@dataclass
class Load:
    rate: float
    latencies: list[float]
    lags: list[float]
    project_ack: dict[str, float]
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds each process used during the load
    seconds: float = 0.0
    ended: float = 0.0  # perf_counter when the publishers stopped
    restarted: frozenset[str] = frozenset()  # processes restarted during the load: their `cpu` covers only part of it


WATCHER = "bench's watcher backend"  # the Postgres backend of drive()'s visibility poll: the bench's, not the system's


def cpu_meter(system: System, watcher_backend: int | None = None) -> CpuMeter:
    """Every process of the system (Postgres with its backends) and this one (publishers, webhook receiver);
    `watcher_backend` separately (a Postgres backend: it is also in the postgres group, cpu_used subtracts it)."""
    pids = system.pids()
    return CpuMeter({**{k: [v] for k, v in pids.items() if not k.startswith("postgres")},
                     "bench (publishers, hook)": [os.getpid()],
                     **({WATCHER: [watcher_backend]} if watcher_backend is not None else {})},
                    with_children={k: [v] for k, v in pids.items() if k.startswith("postgres")})


def cpu_used(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    used = {k: after[k] - before[k] for k in after}
    if WATCHER in used and "postgres" in used:
        used["postgres"] -= used[WATCHER]
    return used


async def drive(system: System, seconds: float, publishers: int, rate: float | None = None) -> Load:
    """`publishers` submit back to back for `seconds`; with `rate`, together at most `rate` per second
    (each keeps its own schedule and sends at once when behind it; its receipt latency then counts from
    when the submission was due, not from when the publisher got round to it)."""
    nc, db = await system.source(), await asyncpg.connect(system.database_url())
    acks: dict[int, float] = {}  # stream seq → receipt time
    project_ack: dict[str, float] = {}
    latencies: list[float] = []
    visible: dict[int, float] = {}
    stop = asyncio.Event()

    async def publisher(tag: int) -> None:
        n = 0
        while not stop.is_set():
            n += 1
            due = time.perf_counter()
            if rate is not None:  # pacing the offered load, not waiting for a condition
                due = started + ((n - 1) * publishers + tag) / rate
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
                if stop.is_set():
                    break
            pid = f"E{tag}-{n}-{uuid.uuid4().hex[:4]}"
            t = due  # paced: from when it was due, so a publisher held up by slow receipts is not hidden
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
    starts = system.restarts()  # before the meter takes its pids: a restart in between is counted, not missed
    meter = cpu_meter(system, db.get_server_pid())
    before = meter.read()
    started = time.perf_counter()
    tasks = [asyncio.create_task(publisher(i)) for i in range(publishers)]
    await asyncio.sleep(seconds)  # the timed load itself, not a wait for a condition
    stop.set()
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - started
    after = meter.read()
    ends = system.restarts()
    await asyncio.wait_for(watcher, 120)
    await nc.close()
    await db.close()
    return Load(rate=len(latencies) / elapsed, latencies=latencies, project_ack=project_ack,
                lags=[visible[s] - t for s, t in acks.items() if s in visible],
                cpu=cpu_used(before, after), seconds=elapsed, ended=started + elapsed,
                restarted=frozenset(k for k, v in ends.items() if v != starts.get(k, 0)))


@dataclass
class Raw:
    append: float
    read: float
    copy: float
    floor: list[float]


async def raw_limits(system: System, count: int, concurrency: int) -> Raw:
    admin = await system.admin()
    js = admin.jetstream(timeout=10)
    tag = uuid.uuid4().hex[:6]
    payload = c.application("RAW-1")
    append = await raw_append_rate(js, f"BENCH_RAW_{tag.upper()}", payload, count, concurrency,
                                   replicas=system.replicas)

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
    await asyncio.wait_for(done.wait(), max(120.0, total / 1000))
    read = total / (time.perf_counter() - t)
    await sub.unsubscribe()

    db = await asyncpg.connect(system.database_url())
    await db.execute("CREATE TEMP TABLE bench_copy (seq bigint, body bytea)")
    rows = [(i, payload) for i in range(100_000)]
    t = time.perf_counter()
    for i in range(0, len(rows), 10_000):
        await db.copy_records_to_table("bench_copy", records=rows[i:i + 10_000])
    copy = len(rows) / (time.perf_counter() - t)

    await db.execute("CREATE TEMP TABLE bench_floor (seq bigint PRIMARY KEY)")
    floor: list[float] = []
    arrived: asyncio.Queue[int] = asyncio.Queue()
    name, prefix = f"BENCH_FLOOR_{tag.upper()}", f"benchfloor{tag}"  # raw_append_rate deleted its stream
    await js.add_stream(api.StreamConfig(name=name, subjects=[f"{prefix}.*"], num_replicas=system.replicas))

    async def on_floor(msg: object) -> None:
        seq = int(msg.metadata.sequence.stream)  # type: ignore[attr-defined]
        await db.execute("INSERT INTO bench_floor VALUES ($1)", seq)
        await arrived.put(seq)

    sub = await js.subscribe(f"{prefix}.floor", cb=on_floor, ordered_consumer=True,
                             deliver_policy=api.DeliverPolicy.NEW)
    for _ in range(300):
        t = time.perf_counter()
        await js.publish(f"{prefix}.floor", payload)
        await arrived.get()
        floor.append(time.perf_counter() - t)
    await sub.unsubscribe()
    await js.delete_stream(name)
    await db.close()
    await admin.close()
    return Raw(append=append, read=read, copy=copy, floor=floor)


# -- preload and catch-up ----------------------------------------------------------------------------------


@dataclass
class Preloaded:
    events: int
    messages: int  # log sequences the preload took (one commit each)
    seconds: float
    end_seq: int
    ended: float  # perf_counter at the end of the preload: the catch-up clock starts here


async def preload(system: System, events: int, appenders: int = 4) -> Preloaded:
    """`events` realistic events straight into the log (as the admin), pipelined on `appenders` connections."""
    admin = await system.admin()
    first = await c.last_seq(admin)
    finished = asyncio.Event()

    async def one(n: int) -> int:
        nc = await system.admin()
        try:
            return await append_all(nc, c.SUBJECTS, commits(100 + n, events // appenders, prefix=f"A{n}"),
                                    window=1024)
        finally:
            await nc.close()

    async def progress() -> None:
        while not finished.is_set():
            try:
                await asyncio.wait_for(finished.wait(), 15)
            except TimeoutError:
                emit("bench", f"preload: {await c.last_seq(admin) - first:,} commits appended")

    emit("bench", f"preload: appending {events:,} events ({appenders} pipelined appenders) …")
    reporter = asyncio.create_task(progress())
    t = time.perf_counter()
    try:
        done = sum(await asyncio.gather(*(one(n) for n in range(appenders))))
    finally:
        finished.set()
        await reporter
    ended = time.perf_counter()
    last = await c.last_seq(admin)
    await admin.close()
    emit("bench", f"preload: {done:,} events in {last - first:,} commits, {ended - t:.0f}s")
    return Preloaded(events=done, messages=last - first, seconds=ended - t, end_seq=last, ended=ended)


@dataclass
class CatchUp:
    reached: dict[str, float] = field(default_factory=dict)  # what → seconds after the preload's end
    quiet: float | None = None  # every consumer at the log's end and no alert due: seconds, None = timed out
    alerts: int = 0  # alerts the webhook received by then
    rss_peak: dict[str, float] = field(default_factory=dict)
    rss_last: dict[str, float] = field(default_factory=dict)


async def _int(db: asyncpg.Connection, table: str, query: str) -> int:
    """`query`'s number, 0 while the service has not created `table` yet (no error in Postgres' log)."""
    if await db.fetchval("SELECT to_regclass($1)", table) is None:
        return 0
    return int(await db.fetchval(query) or 0)


@dataclass
class Quiet:
    """Where the consumers are: quiet when every one is at the log's end and no alert is due or being sent."""

    last: int
    at: dict[str, int]
    reacting: int
    due: int

    @property
    def done(self) -> bool:
        return (self.at["projections"] == self.last and self.at["notify view"] == self.last
                and self.reacting == 0 and self.due == 0)

    def line(self, hook: Hook) -> str:
        return (f"log {self.last:,}, " + ", ".join(f"{k} {v:,}" for k, v in self.at.items())
                + f", reactions pending {self.reacting:,}, alerts due {self.due:,}, "
                f"alerts received {len(hook.keys):,}")


async def quiet_state(admin: NATS, db: asyncpg.Connection) -> Quiet:
    last = await c.last_seq(admin)
    at = {"projections": await _int(db, "ledger.progress", "SELECT applied_seq FROM ledger.progress"),
          "notify view": await _int(db, "notify.position", "SELECT seq FROM notify.position")}
    try:
        info = await admin.jetstream(timeout=10).consumer_info(c.SUBJECTS.events_stream, "stages-react")
        at["stages reactions"] = (info.ack_floor.stream_seq or 0) if info.ack_floor else 0
        reacting = (info.num_pending or 0) + (info.num_ack_pending or 0)
    except nats.js.errors.NotFoundError:
        at["stages reactions"], reacting = 0, 1
    return Quiet(last, at, reacting, await _int(db, "notify.alerts", DUE_ALERTS))


async def until_quiet(system: System, hook: Hook, within: float, *, since: float, label: str, what: str,
                      seen: Callable[[Quiet, float], None] | None = None, poll: float = 0.5) -> float | None:
    """Wait until every consumer is at the log's end and no alert is due or being sent, printing where
    things stand every 15 s as `label`; `seen(state, now)` is told of every probe. Seconds after
    `since` it took, or None when not within `within` seconds (a warning says so)."""
    admin, db = await system.admin(), await asyncpg.connect(system.database_url())
    said = time.perf_counter()

    async def probe() -> bool:
        nonlocal said
        q = await quiet_state(admin, db)
        now = time.perf_counter()
        if seen is not None:
            seen(q, now)
        if q.done or now - said >= 15:
            said = now
            emit("bench", f"{label} {now - since:.0f}s: {q.line(hook)}")
        return q.done

    try:
        await eventually(probe, within=within, what=what, poll=poll)
        return time.perf_counter() - since
    except AssertionError as exc:  # report what was reached and measure anyway
        emit("bench", f"WARNING: {exc}")
        return None
    finally:
        await db.close()
        await admin.close()


async def catch_up(system: System, loaded: Preloaded, hook: Hook, meter: RssMeter, within: float) -> CatchUp:
    """Wait until projections, notify's view and stages' reactions pass the preload, then until all is quiet."""
    out = CatchUp()

    def seen(q: Quiet, now: float) -> None:
        for what, seq in q.at.items():
            if seq >= loaded.end_seq:
                out.reached.setdefault(what, now - loaded.ended)

    out.quiet = await until_quiet(system, hook, within, since=loaded.ended, label="catch-up", seen=seen, poll=1.0,
                                  what="the system caught up with the preload")
    out.alerts = len(hook.keys)
    out.rss_peak, out.rss_last = dict(meter.peak), dict(meter.last)
    return out


# -- one topology, and the report --------------------------------------------------------------------------


def rss_line(label: str, rss: dict[str, float]) -> list[str]:
    over = [k for k, v in sorted(rss.items()) if v > TARGET_MB and not k.startswith(SERVERS)]
    return [f"{label:<29}" + ", ".join(f"{k} {v:.0f}" for k, v in sorted(rss.items())),
            f"{'':<29}services above {TARGET_MB:.0f} MB: {', '.join(over) if over else 'none'}"]


def report(system: System, args: argparse.Namespace, load: Load, raw: Raw, delays: list[float],
           peak: dict[str, float], loaded: Preloaded | None, caught: CatchUp | None,
           settled: float | None) -> list[str]:
    floor50, floor99 = pct(raw.floor, 50), pct(raw.floor, 99)
    lat99 = pct(load.latencies, 99)
    r = system.replicas
    offered = f"paced at {args.rate:g}/s" if args.rate else "back to back"
    lines = [f"end-to-end benchmark — {system.title}, {args.publishers} publishers {offered}, {args.seconds:g}s, "
             f"{len(load.latencies)} accepted",
             f"raw JetStream append R{r}      {raw.append:>9.0f}/s",
             f"raw ordered read             {raw.read:>9.0f}/s",
             f"raw Postgres COPY            {raw.copy:>9.0f} rows/s",
             f"raw publish→commit floor     p50 {floor50:.2f} ms  p99 {floor99:.2f} ms"]
    if loaded is not None and caught is not None:
        append = loaded.messages / loaded.seconds
        lines.append(f"preload                      {loaded.events:,} events in {loaded.messages:,} commits, "
                     f"{loaded.seconds:.0f}s: {append:.0f} commits/s   {append / raw.append:.2f}× raw append")
        for what, took in sorted(caught.reached.items(), key=lambda kv: kv[1]):
            if what not in CONSUMERS:
                lines.append(f"{what:<29}{took:>6.0f}s after the preload")
                continue
            if system.live_preload:  # they followed it: what counts is how far behind they ended
                lines.append(f"{what + ' past preload':<29}{took:>6.0f}s after it (followed it live)")
                continue
            rate = loaded.messages / took if took > 0 else float("inf")
            lines.append(f"{what + ' past preload':<29}{took:>6.0f}s after it   {rate:>7.0f} commits/s   "
                         f"{rate / raw.read:.2f}× raw read")
        missing = sorted(set(CONSUMERS) - set(caught.reached))
        quiet = (f"{caught.quiet:.0f}s after the preload" if caught.quiet is not None
                 else f"NOT within {args.catch_up_timeout:g}s")
        lines.append(f"quiet (all at log end)       {quiet}"
                     + (f"; never passed the preload: {', '.join(missing)}" if missing else "")
                     + f"; {caught.alerts:,} alerts delivered to the webhook")
        lines += rss_line("peak RSS MB preload+catch-up", caught.rss_peak)
        lines += rss_line("RSS MB at the wait's end", caught.rss_last)
    restarts = system.restarts()
    lines.append("service restarts             "
                 + (", ".join(f"{k} {v}" for k, v in sorted(restarts.items())) if restarts else "none"))
    against = (f"{load.rate / args.rate:.2f} of the offered {args.rate:g}/s (paced: no ratio to raw append)"
               if args.rate else f"{load.rate / raw.append:.2f}× raw append (target ≥ 0.8)")
    lines += [f"sustained submissions        {load.rate:>9.0f}/s   {against}",
              f"receipt latency              p50 {pct(load.latencies, 50):.2f} ms  p99 {lat99:.2f} ms   "
              f"{lat99 / floor99:.2f}× floor p99",
              f"append → visible in ledger   p50 {pct(load.lags, 50):.2f} ms  p99 {pct(load.lags, 99):.2f} ms   "
              f"{pct(load.lags, 99) / floor99:.2f}× floor p99 (target ≤ 3)",
              f"alert delay (receipt→hook)   p50 {pct(delays, 50):.0f} ms  p99 {pct(delays, 99):.0f} ms "
              f"({len(delays)} of {len(load.project_ack)} overdue alerts arrived)",
              "services done with the load  " + (f"{settled:.1f}s after it (the raw limits were measured then)"
                                                 if settled is not None else "NOT within the timeout")]
    n = cores()
    used = sum(v for k, v in load.cpu.items() if k not in load.restarted)
    lines.append(f"CPU during the load           {used:.1f} of {n * load.seconds:.1f} CPU-s ({n} cores): "
                 + ", ".join(f"{k} {'n/a (restarted during it)' if k in load.restarted else f'{v:.1f}'}"
                             for k, v in sorted(load.cpu.items(), key=lambda kv: -kv[1])))
    return lines + rss_line("peak RSS MB (whole run)", peak)


async def run(kind: str, args: argparse.Namespace) -> list[str]:
    work = Path(tempfile.mkdtemp(prefix=f"bench-e2e-{kind}-"))
    hook = Hook(free_port())
    await hook.start()
    system: System = Single(work, hook, live_preload=args.preload_live) if kind == "single" else Cluster(work, hook)
    meter = RssMeter(system.pids)
    stop = asyncio.Event()
    sampler = asyncio.create_task(meter.run(stop))
    loaded: Preloaded | None = None
    watcher: asyncio.Task[CatchUp] | None = None
    emit("bench", f"=== {system.title}: starting in {work} ===")

    async def do_preload() -> None:  # the catch-up clock starts when the preload ends, services or not
        nonlocal loaded, watcher
        if args.preload:
            loaded = await preload(system, args.preload)
            watcher = asyncio.create_task(catch_up(system, loaded, hook, meter, args.catch_up_timeout))

    try:
        # Behind a preload, intake is not ready before its key index has read the whole log.
        await system.start(do_preload, within=args.catch_up_timeout if args.preload else 120.0)
        caught: CatchUp | None = None
        if watcher is not None and loaded is not None:
            healthy = time.perf_counter() - loaded.ended
            caught = await watcher
            if not system.live_preload:
                caught.reached["all services healthy"] = healthy
        emit("bench", f"=== {system.title}: {args.seconds:g}s of load from {args.publishers} publishers ===")
        load = await drive(system, args.seconds, args.publishers, args.rate)
        # After the load (the log has events to read) and once the services are done with it: measured
        # while notify still sends the load's alerts, the "raw" append rate was a third of the real one.
        settled = await until_quiet(system, hook, args.catch_up_timeout, since=load.ended,
                                    label="after the load", what="the system quiet after the load")
        raw = await raw_limits(system, args.raw_count, args.publishers)
        stop.set()
        await sampler
        delays = [hook.first_seen[p] - t for p, t in load.project_ack.items() if p in hook.first_seen]
        return report(system, args, load, raw, delays, meter.peak, loaded, caught, settled)
    finally:
        stop.set()
        if watcher is not None:
            watcher.cancel()
        await system.stop()
        await hook.stop()
        shutil.rmtree(work, ignore_errors=True)  # its nats and Postgres data: gigabytes after a --preload run


async def main(args: argparse.Namespace) -> None:
    kinds = ["single", "cluster"] if args.topology == "both" else [args.topology]
    for kind in kinds:
        lines = await run(kind, args)
        print("\n" + "\n".join(lines) + "\n", flush=True)  # after the stop: no service log in between


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--topology", choices=["single", "cluster", "both"], default="both",
                        help="single: `ledger up`'s embedded node; cluster: compose.yaml's three nodes (default: both)")
    parser.add_argument("--seconds", type=float, default=20.0, help="duration of the timed load")
    parser.add_argument("--publishers", type=int, default=32)
    parser.add_argument("--rate", type=float, default=None, metavar="PER_S",
                        help="pace the publishers to this many submissions/s together (default: back to back); "
                             "the lag at a rate the system sustains, e.g. 500")
    parser.add_argument("--raw-count", type=int, default=5000, help="messages for the raw append limit")
    parser.add_argument("--preload", type=int, default=0, metavar="EVENTS",
                        help="append this many realistic events first and wait for the services to catch up")
    parser.add_argument("--preload-live", action="store_true",
                        help="single: preload with the services running, as they follow it (the cluster always does)")
    parser.add_argument("--catch-up-timeout", type=float, default=3600.0, metavar="SECONDS")
    asyncio.run(main(parser.parse_args()))
