"""The live projector's look-ups stay primary-key probes however the live schema grew since it planned them.

The live schema starts empty. asyncpg prepares every statement, and after five runs Postgres may keep a
generic plan made from that moment's statistics: a scan of the whole table for each look-up of projects
missing from the projector's cache, until autoanalyze ran. The live connection plans each statement
(ledger.pg.CUSTOM_PLANS, in services/projections/service.py connect_live); this test shows the
difference on the projector's own look-up statements.
"""

from __future__ import annotations

import asyncpg

from ledger.pg import CUSTOM_PLANS
from ledger.projection import catalog
from ledger.projection.projector import lookup_sql
from ledger.projection.schema import PROJECTS, q
from services.projections.service import connect_live
from tests.plans import Lookup, plan_after_growth

VALUES = {"text": "'x'", "boolean": "false", "integer": "0", "bigint": "0", "text[]": "'{}'"}


def grow_sql(schema: str, count: int) -> str:
    """`count` projects P-1 … P-count: every column filled with a plain value of its type (NULL where allowed)."""
    cols = []
    for name, sql_type in PROJECTS:
        base = sql_type.removesuffix(" NOT NULL PRIMARY KEY").removesuffix(" NOT NULL")
        cols.append("'P-' || g" if name == "id" else VALUES[base] if "NOT NULL" in sql_type else "NULL")
    return f"INSERT INTO {q(schema)}.projects SELECT {', '.join(cols)} FROM generate_series(1, {count}) g"


async def live_projects(conn: asyncpg.Connection) -> Lookup:
    """The projector's look-up of projects, on a live schema as the live service's first start makes it:
    empty, never analyzed."""
    schema = await catalog.new_build(conn)
    return Lookup(table=f"{q(schema)}.projects", params="text[]", sql=lookup_sql(schema)[0],
                  misses=[f"ARRAY['n{burst}-1', 'n{burst}-2']" for burst in range(10)],  # new projects
                  grow=grow_sql(schema, 20_000), hit="ARRAY['P-7', 'none']", column="id", found=["P-7"],
                  explained="ARRAY['P-7']")


async def test_a_lookup_planned_on_the_empty_live_schema_probes_the_key_after_it_grows(ledger_db: str) -> None:
    plan = await plan_after_growth(ledger_db, CUSTOM_PLANS, live_projects)
    assert "Index" in plan and "Seq Scan" not in plan, plan


async def test_without_the_setting_the_same_lookup_keeps_scanning_the_table(ledger_db: str) -> None:
    """What CUSTOM_PLANS prevents (if Postgres ever stops doing this, the setting may go)."""
    plan = await plan_after_growth(ledger_db, {}, live_projects)
    assert "Seq Scan" in plan, plan


async def test_the_live_projectors_connection_plans_each_statement(ledger_db: str) -> None:
    conn = await connect_live(ledger_db)
    try:
        assert await conn.fetchval("SHOW plan_cache_mode") == "force_custom_plan"
    finally:
        await conn.close()
