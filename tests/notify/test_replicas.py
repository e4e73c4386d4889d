"""Two replicas against one database and one log: every alert is claimed, sent and recorded by exactly one."""

from __future__ import annotations

import asyncio
import collections
import datetime as dt

import asyncpg

from ledger.eventlog import EventLog
from tests.notify.conftest import ManualClock, Replica, routes_config
from tests.notify.history import append, opened, received
from tests.notify.receivers import Receivers
from tests.notify.steps import at_local, caught_up
from tests.waiting import eventually

N = 1000


async def test_two_replicas_never_send_an_alert_twice_over_1000_deadlines(
        log: EventLog, replica: Replica, receivers: Receivers, db: asyncpg.Connection, schema: str) -> None:
    sem = asyncio.Semaphore(64)

    async def one(i: int) -> None:
        async with sem:
            await append(log, f"R{i:04d}", received(f"项目{i}", leader=""), opened(department=f"科室{i % 7}"))
    await asyncio.gather(*(one(i) for i in range(N)))
    config = routes_config(receivers, routes=[{"levels": ["red"], "targets": ["oa_hook"]}])
    clock = ManualClock(at_local(dt.date(2026, 9, 21), 10))
    async with replica(config, clock) as a, replica(config, clock) as b:
        await caught_up(a, log)
        await caught_up(b, log)
        clock.set(at_local(dt.date(2026, 9, 30), 9))

        async def all_recorded() -> bool:
            sent = await db.fetchval(f"SELECT count(*) FROM {schema}.alerts WHERE state = 'sent' "
                                     "AND recorded_seq IS NOT NULL")
            return bool(sent == N)
        await eventually(all_recorded, within=120, what=f"{N} alerts sent and recorded")
        assert a.scheduler.claimed > 0 and b.scheduler.claimed > 0, "both replicas took a share"
    keys = collections.Counter(r.headers["Idempotency-Key"] for r in receivers.got)
    assert len(keys) == N and max(keys.values()) == 1
    last = await log.last_seq()
    sent_records = 0
    async for recorded in log.read(from_seq=1, until_seq=last):
        sent_records += sum(1 for e in recorded.commit.events if type(e.event).__name__ == "AlertSent")
    assert sent_records == N
