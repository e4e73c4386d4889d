"""notify's pooled connections plan each statement for its own arguments.

The alert table starts empty; a generic plan made then (asyncpg prepares every statement, Postgres may
switch to a generic plan after five runs) kept scanning it to settle each alert (services/notify/app.py).
"""

from __future__ import annotations

from tests.notify.conftest import ManualClock, Replica, routes_config
from tests.notify.history import AT
from tests.notify.receivers import Receivers


async def test_every_pooled_connection_plans_each_statement(replica: Replica, receivers: Receivers) -> None:
    async with replica(routes_config(receivers), ManualClock(AT)) as n:
        pool = n.scheduler.pool
        conns = [await pool.acquire() for _ in range(3)]  # beyond min_size: new connections too
        try:
            assert [await c.fetchval("SHOW plan_cache_mode") for c in conns] == ["force_custom_plan"] * 3
        finally:
            for c in conns:
                await pool.release(c)
