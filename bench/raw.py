"""What the benchmarks share: the raw limits (bare JetStream appends, bare queues), a CPU meter,
a profiler and percentiles."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable
from pathlib import Path
from typing import TypeVar

import psutil  # type: ignore[import-untyped]
from nats.aio.client import Client as NATS
from nats.js import api
from nats.js.client import JetStreamContext

T = TypeVar("T")


async def start_spy(pid: int, out: Path, *, rate: int, subprocesses: bool = False) -> asyncio.subprocess.Process:
    """py-spy recording process `pid` (and its children, with `subprocesses`) into `out`, raw collapsed
    stacks; stop it with stop_spy, which makes it write the file."""
    return await asyncio.create_subprocess_exec(
        str(Path(sys.executable).with_name("py-spy")), "record", "--pid", str(pid), "--format", "raw",
        "--rate", str(rate), "--nonblocking", *(["--subprocesses"] if subprocesses else []), "-o", str(out),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)


async def stop_spy(spy: asyncio.subprocess.Process) -> None:
    spy.send_signal(signal.SIGINT)  # py-spy writes what it recorded
    await spy.wait()


class CpuMeter:
    """CPU seconds (user + system) used by named groups of processes; `with_children` groups also
    count their descendants, alive or ended (Postgres: every backend and parallel worker)."""

    def __init__(self, groups: dict[str, list[int]], *, with_children: dict[str, list[int]] | None = None) -> None:
        self.groups = {name: ([psutil.Process(p) for p in pids], False) for name, pids in groups.items()}
        self.groups |= {name: ([psutil.Process(p) for p in pids], True) for name, pids in (with_children or {}).items()}

    def read(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for name, (procs, children) in self.groups.items():
            total = 0.0
            for proc in procs:
                for p in [proc, *proc.children(recursive=True)] if children else [proc]:
                    with contextlib.suppress(psutil.NoSuchProcess):
                        t = p.cpu_times()
                        total += t.user + t.system
                        if children and p is proc:  # descendants that ended meanwhile (parallel workers, …)
                            total += t.children_user + t.children_system
            out[name] = total
        return out


async def measured(meter: CpuMeter, run: Awaitable[T]) -> tuple[T, dict[str, float]]:
    """`run`'s result and the CPU seconds each of the meter's groups used while it ran."""
    before = meter.read()
    result = await run
    after = meter.read()
    return result, {k: after[k] - before[k] for k in after}


def cores() -> int:
    """The cores this process may run on (all of them where affinity is unknown, as on macOS)."""
    affinity = getattr(os, "sched_getaffinity", None)
    return (len(affinity(0)) if affinity is not None else 0) or os.cpu_count() or 1


def pct(seconds: list[float], q: int) -> float:
    """The q-th percentile of `seconds`, in milliseconds (nan for fewer than two)."""
    return statistics.quantiles(seconds, n=100)[q - 1] * 1000 if len(seconds) > 1 else float("nan")


async def js_append_rate(js: JetStreamContext, prefix: str, payload: bytes, count: int, concurrency: int) -> float:
    """Appends/s of `count` messages to `<prefix>.<0..999>` (a stream the caller created), each a
    request/reply js.publish with a msg-id, from `concurrency` concurrent publishers. The msg-ids are
    new on every call: ids repeated within the duplicate window would be dropped unwritten."""
    queue = iter(range(count))
    run = uuid.uuid4().hex[:12]

    async def worker() -> None:
        for i in queue:
            await js.publish(f"{prefix}.{i % 1000}", payload, headers={"Nats-Msg-Id": f"{run}-{i}"})

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return count / (time.perf_counter() - started)


async def raw_append_rate(js: JetStreamContext, stream: str, payload: bytes, count: int, concurrency: int,
                          *, replicas: int = 1) -> float:
    """The baseline: js_append_rate into a new stream `stream` (`replicas` replicas), deleted afterwards."""
    prefix = stream.lower()
    await js.add_stream(api.StreamConfig(name=stream, subjects=[f"{prefix}.*"], num_replicas=replicas))
    try:
        return await js_append_rate(js, prefix, payload, count, concurrency)
    finally:
        await js.delete_stream(stream)


async def queue_rate(publisher: NATS, consumer: NATS, name: str, payload: bytes, count: int, concurrency: int,
                     retention: api.RetentionPolicy, batch: int = 256) -> float:
    """Submissions/s through a bare queue at the same durability: `concurrency` publishers append
    `count` messages to a new stream `name` with `retention` while one pull consumer fetches them in
    batches of `batch` and acks each (no other work). This is the floor under any fire-and-forget
    path: each message is written and delivered, and acked — which with work-queue (or interest)
    retention also removes it, one removal per ack. Deletes the stream afterwards."""
    js, cjs = publisher.jetstream(), consumer.jetstream()
    prefix = name.lower()
    await js.add_stream(api.StreamConfig(name=name, subjects=[f"{prefix}.*"], retention=retention))
    try:
        sub = await cjs.pull_subscribe(f"{prefix}.*", durable="bench", stream=name,
                                       config=api.ConsumerConfig(max_ack_pending=count))
        got = 0

        async def consume() -> None:
            nonlocal got
            while got < count:
                try:
                    msgs = await sub.fetch(batch, timeout=1)
                except TimeoutError:  # nats.errors.TimeoutError, or the builtin one nats-py's fetch also raises
                    continue
                got += len(msgs)
                for m in msgs:
                    await m.ack()

        started = time.perf_counter()
        await asyncio.gather(js_append_rate(js, prefix, payload, count, concurrency), consume())
        return count / (time.perf_counter() - started)
    finally:
        await js.delete_stream(name)
