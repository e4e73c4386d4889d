"""What the benchmarks share: the raw limits (bare JetStream appends, a bare work queue) and percentiles."""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid

import nats.errors
from nats.aio.client import Client as NATS
from nats.js import api
from nats.js.client import JetStreamContext


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


async def workqueue_rate(publisher: NATS, consumer: NATS, name: str, payload: bytes, count: int, concurrency: int,
                         batch: int = 256) -> float:
    """Submissions/s through a bare work queue at the same durability: `concurrency` publishers append
    `count` messages to a new work-queue stream `name` while one pull consumer fetches them in batches
    of `batch` and acks each (no other work). This is the floor under any fire-and-forget path: each
    message is written, delivered and removed on ack. Deletes the stream afterwards."""
    js, cjs = publisher.jetstream(), consumer.jetstream()
    prefix = name.lower()
    await js.add_stream(api.StreamConfig(name=name, subjects=[f"{prefix}.*"],
                                         retention=api.RetentionPolicy.WORK_QUEUE))
    try:
        sub = await cjs.pull_subscribe(f"{prefix}.*", durable="bench", stream=name,
                                       config=api.ConsumerConfig(max_ack_pending=count))
        got = 0

        async def consume() -> None:
            nonlocal got
            while got < count:
                try:
                    msgs = await sub.fetch(batch, timeout=1)
                except nats.errors.TimeoutError:
                    continue
                got += len(msgs)
                for m in msgs:
                    await m.ack()

        started = time.perf_counter()
        await asyncio.gather(js_append_rate(js, prefix, payload, count, concurrency), consume())
        return count / (time.perf_counter() - started)
    finally:
        await js.delete_stream(name)
