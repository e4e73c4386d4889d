"""Key look-ups stay index probes however the key table grew since the connection planned them.

asyncpg prepares every statement; after five runs Postgres may switch to a generic plan built from the
statistics of that moment. Built while the table was empty (a new install, or the index rebuilt from a
long log before autoanalyze ran), that plan scans the whole table on every look-up — growing with it
(1.3 ms at 19 000 keys, 18 ms at 219 000). Intake's connections plan each look-up (PG_SETTINGS).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import asyncpg

from services.intake.app import Running
from services.intake.index import PG_SETTINGS, KeyIndex, ddl, lookup_sql
from tests.plans import Lookup, plan_after_growth


def key_lookup(schema: str) -> Callable[[asyncpg.Connection], Awaitable[Lookup]]:
    """Intake's key look-up, on a key table just made in `schema` (empty, never analyzed)."""

    async def create(c: asyncpg.Connection) -> Lookup:
        await c.execute(ddl(schema))
        return Lookup(
            table=f'"{schema}".idempotency_keys', params="text[], text[]", sql=lookup_sql(schema),
            # batches of 60 new keys, looked up while the table is still (nearly) empty
            misses=[f"{_array(['window'] * 60)}, {_array([f'b{burst}-{i}' for i in range(60)])}"
                    for burst in range(10)],
            grow=f"""INSERT INTO "{schema}".idempotency_keys
                     SELECT 'window', 'k' || g, 'h', 'P-' || g, g, 'c', ARRAY['e'], now()
                     FROM generate_series(1, 20000) g""",
            hit=f"{_array(['window'] * 2)}, {_array(['k7', 'missing'])}", column="project_id", found=["P-7"],
            explained="ARRAY['window'], ARRAY['k7']")
    return create


def _array(items: list[str]) -> str:
    """A text[] literal (EXECUTE takes no bind parameters); the test's own plain keys need no escaping."""
    return "'{" + ",".join(items) + "}'::text[]"


async def test_a_lookup_planned_on_an_empty_table_probes_the_index_after_it_grows(
        database_url: str, pg_schema: str) -> None:
    plan = await plan_after_growth(database_url, PG_SETTINGS, key_lookup(pg_schema))
    assert "Index Scan" in plan and "Seq Scan" not in plan, plan


async def test_without_custom_plans_the_same_lookup_keeps_scanning_the_table(
        database_url: str, pg_schema: str) -> None:
    """What PG_SETTINGS' plan_cache_mode prevents (if Postgres ever stops doing this, the setting may go)."""
    plan = await plan_after_growth(database_url, {"synchronous_commit": "off"}, key_lookup(pg_schema))
    assert "Seq Scan" in plan, plan


async def test_intakes_pool_runs_with_these_settings(intake: Running) -> None:
    keys = intake.ports.keys
    assert isinstance(keys, KeyIndex)
    async with keys.pool.acquire() as conn:
        assert (await conn.fetchval("SHOW plan_cache_mode"), await conn.fetchval("SHOW synchronous_commit")) == (
            "force_custom_plan", "off")
