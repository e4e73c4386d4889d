"""Raw limits shared by the benchmarks: what bare JetStream appends do on the same server."""

from __future__ import annotations

import asyncio
import time

from nats.js.client import JetStreamContext


async def js_append_rate(js: JetStreamContext, prefix: str, payload: bytes, count: int, concurrency: int) -> float:
    """Appends/s of `count` messages to `<prefix>.<0..999>` (a stream the caller created), each a
    request/reply js.publish with a msg-id, from `concurrency` concurrent publishers."""
    queue = iter(range(count))

    async def worker() -> None:
        for i in queue:
            await js.publish(f"{prefix}.{i % 1000}", payload, headers={"Nats-Msg-Id": f"r{i}"})

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return count / (time.perf_counter() - started)
