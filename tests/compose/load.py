"""Continuous publishers (each submission retried with its own key until answered) and the exactly-once audit."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import uuid
from collections import Counter
from dataclasses import dataclass, field

import asyncpg
import nats.errors
from nats.aio.client import Client as NATS

from contracts.receipts import Accepted, Rejected
from tests.compose import client as c
from tests.waiting import eventually

_ids = itertools.count()
# Deadlines already past: every new project's stage is overdue at once, so notify has alerts to send.
PAST = (dt.datetime.now(dt.UTC) - dt.timedelta(days=60)).astimezone(dt.timezone(dt.timedelta(hours=8)))


@dataclass
class Tally:
    sent: int = 0
    attempts: int = 0
    unavailable: int = 0  # answers saying "try again" (transient rejections, timeouts, no responders)
    accepted: dict[str, Accepted] = field(default_factory=dict)  # idempotency key → receipt
    rejected: list[Rejected] = field(default_factory=list)


async def publisher(nc: NATS, tally: Tally, stop: asyncio.Event, tag: str, give_up_s: float = 60.0) -> None:
    """Submit new applications until `stop`; each is retried with the same key until it gets an answer."""
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        key = uuid.uuid4().hex
        body = c.application(f"L{tag}-{next(_ids)}", key=key, occurred_at=PAST.isoformat(timespec="seconds"))
        tally.sent += 1
        deadline = loop.time() + give_up_s
        while loop.time() < deadline:
            tally.attempts += 1
            try:
                receipt = await c.submit(nc, body, wait=3.0)
            except (nats.errors.TimeoutError, nats.errors.NoRespondersError, nats.errors.ConnectionClosedError):
                tally.unavailable += 1
                await asyncio.sleep(0.05)
                continue
            if isinstance(receipt, Accepted):
                tally.accepted[key] = receipt
                break
            # A careful publisher retries these with the same key (idempotent). Failover errors intake knows
            # answer `unavailable`; internal_error also says "nothing was written, retry with the same key".
            if receipt.code in ("unavailable", "concurrency_exhausted", "internal_error"):
                tally.unavailable += 1
                await asyncio.sleep(0.05)
                continue
            tally.rejected.append(receipt)
            break


class Load:
    """N publishers as one source, started and stopped around a fault."""

    def __init__(self, nc: NATS, publishers: int = 4) -> None:
        self.nc, self.tally, self.stop = nc, Tally(), asyncio.Event()
        self.tasks = [asyncio.create_task(publisher(nc, self.tally, self.stop, f"{i}x{uuid.uuid4().hex[:4]}"))
                      for i in range(publishers)]

    async def acked_at_least(self, n: int, within: float = 60.0) -> None:
        async def enough() -> bool:
            return len(self.tally.accepted) >= n
        await eventually(enough, within=within, what=f"{n} acknowledged submissions", poll=0.05)

    async def more(self, n: int, within: float = 60.0) -> None:
        await self.acked_at_least(len(self.tally.accepted) + n, within)

    async def finish(self) -> Tally:
        self.stop.set()
        await asyncio.gather(*self.tasks)
        return self.tally


@dataclass(frozen=True)
class Audit:
    sent: int
    acknowledged: int
    in_ledger: int
    duplicates: int
    lost: int
    refused: dict[str, int]

    def line(self, what: str) -> str:
        return (f"[faults] {what}: sent {self.sent}, acknowledged {self.acknowledged}, in ledger {self.in_ledger}, "
                f"duplicates {self.duplicates}, lost {self.lost}; refused {self.refused or 'none'}")


async def audit(tally: Tally, admin: NATS, db: asyncpg.Connection) -> Audit:
    """Every acknowledged submission's events in the ledger exactly once; no project received twice."""
    await c.quiesced(admin, db, within=120)
    event_ids = [e for r in tally.accepted.values() for e in r.event_ids]
    counts = await c.archive_counts(db, event_ids)
    projects = [r.project_id for r in tally.accepted.values()]
    received = await db.fetch("SELECT project_id, count(*) AS n FROM ledger.archive WHERE type = "
                              "'ApplicationReceived' AND project_id = ANY($1) GROUP BY project_id", projects)
    dup_projects = sum(int(r["n"]) - 1 for r in received)
    in_ledger = sum(1 for r in tally.accepted.values() if all(counts.get(e, 0) >= 1 for e in r.event_ids))
    duplicates = sum(n - 1 for n in counts.values()) + dup_projects
    return Audit(sent=tally.sent, acknowledged=len(tally.accepted), in_ledger=in_ledger, duplicates=duplicates,
                 lost=len(tally.accepted) - in_ledger,
                 refused=dict(Counter(r.code for r in tally.rejected)))
