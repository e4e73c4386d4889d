"""Raw limits shared by the benchmarks: what bare JetStream appends do on the same server."""

from __future__ import annotations

import asyncio
import time
import uuid

from nats.js.client import JetStreamContext


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
