"""Send a scenario through intake exactly as the external systems would: NATS request/reply per source.

Each project's submissions go in order, one at a time (each waits for its receipt); projects run
side by side. Retried with the same bytes and key (always safe, see contracts/README.md) are:
no responders or no reply (intake starting), `unavailable`, `concurrency_exhausted`, `internal_error`,
and `rule_violation` for a stage "not open" right after the application — the stages service opens
the first stage in reaction to the application, a moment after intake's receipt.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import nats.errors
from nats.aio.client import Client as NATS

from contracts.codec import decode_receipt, encode
from contracts.receipts import Accepted, Rejected
from ledger.demo.script import Script, Step
from ledger.natsconn import connect
from ledger.runtime.auth import Source, inbox_prefix
from ledger.settings import Settings

RETRY_CODES = {"unavailable", "concurrency_exhausted", "internal_error"}
NOT_OPEN_PATIENCE = 10.0  # seconds: the stages service opens a first stage well within this


@dataclass
class Report:
    accepted: int = 0
    duplicates: int = 0
    rejected: list[tuple[str, str, str]] = field(default_factory=list)  # (key, code, message)

    @property
    def sent(self) -> int:
        return self.accepted + self.duplicates + len(self.rejected)


async def send_step(nc: NATS, subject: str, step: Step, *, patience: float,
                    request_timeout: float) -> Accepted | Rejected:
    body = encode(step.submission)
    started = time.monotonic()
    deadline = started + patience
    pause = 0.05
    while True:
        receipt: Accepted | Rejected | None = None
        try:
            receipt = decode_receipt((await nc.request(subject, body, timeout=request_timeout)).data)
        except (nats.errors.NoRespondersError, nats.errors.TimeoutError):
            receipt = None
        not_open = isinstance(receipt, Rejected) and receipt.code == "rule_violation" and "not open" in receipt.message
        retry = receipt is None or not_open or (isinstance(receipt, Rejected) and receipt.code in RETRY_CODES)
        if not_open and time.monotonic() > started + NOT_OPEN_PATIENCE:
            retry = False  # the stage really is not open: report it rather than wait out the full patience
        if not retry or time.monotonic() > deadline:
            if receipt is None:
                raise TimeoutError(f"no receipt for {step.submission.idempotency_key} within {patience:g} s; "
                                   "is intake running?")
            return receipt
        await asyncio.sleep(pause)  # a retry back-off, not a wait for an event we could observe
        pause = min(pause * 2, 1.0)


async def publish(settings: Settings, scripts: list[Script], sources: Mapping[str, Source], *,
                  concurrency: int = 8, patience: float = 60.0, request_timeout: float = 10.0,
                  progress: Callable[[Report], None] | None = None) -> Report:
    needed = sorted({step.source for s in scripts for step in s.steps})
    missing = [sid for sid in needed if sid not in sources]
    if missing:
        raise ValueError(f"the sources file has no {', '.join(missing)}: the demo publishes as {', '.join(needed)}")
    conns = {sid: await connect(settings, name=f"demo-{sid}", user=sid, password=sources[sid].password,
                                inbox_prefix=inbox_prefix(sid), reconnect=False) for sid in needed}
    report = Report()
    # Applications first, then everything else: the stages service opens each first stage in reaction
    # to the application, so by the second phase those stages are (nearly always) open already.
    queue: asyncio.Queue[list[Step]] = asyncio.Queue()

    async def worker() -> None:
        while not queue.empty():
            steps = queue.get_nowait()
            for step in steps:
                receipt = await send_step(conns[step.source], settings.subjects.submit(step.source), step,
                                          patience=patience, request_timeout=request_timeout)
                if isinstance(receipt, Accepted):
                    if receipt.duplicate:
                        report.duplicates += 1
                    else:
                        report.accepted += 1
                else:
                    report.rejected.append((step.submission.idempotency_key, receipt.code, receipt.message))
            if progress is not None:
                progress(report)

    try:
        for phase in ([s.steps[:1] for s in scripts], [s.steps[1:] for s in scripts]):
            for steps in phase:
                queue.put_nowait(steps)
            await asyncio.gather(*(worker() for _ in range(concurrency)))
    finally:
        for nc in conns.values():
            await nc.close()
    return report
