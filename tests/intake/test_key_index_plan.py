"""Key look-ups stay index probes however the key table grew since the connection planned them.

asyncpg prepares every statement; after five runs Postgres may switch to a generic plan built from the
statistics of that moment. Built while the table was empty (a new install, or the index rebuilt from a
long log before autoanalyze ran), that plan scans the whole table on every look-up — growing with it
(1.3 ms at 19 000 keys, 18 ms at 219 000). Intake's connections plan each look-up (PG_SETTINGS).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from services.intake.index import PG_SETTINGS, ddl, lookup_sql


@pytest.fixture
async def conn(database_url: str) -> AsyncIterator[tuple[asyncpg.Connection, str]]:
    schema = "k_" + uuid.uuid4().hex[:10]
    c = await asyncpg.connect(database_url, server_settings=PG_SETTINGS)
    await c.execute(ddl(schema))
    yield c, schema
    await c.execute(f'DROP SCHEMA "{schema}" CASCADE')
    await c.close()


def _array(items: list[str]) -> str:
    """A text[] literal (EXECUTE takes no bind parameters); the test's own plain keys need no escaping."""
    return "'{" + ",".join(items) + "}'::text[]"


async def test_a_lookup_planned_on_an_empty_table_probes_the_index_after_it_grows(
        conn: tuple[asyncpg.Connection, str]) -> None:
    c, schema = conn
    await c.execute(f"PREPARE lookup(text[], text[]) AS {lookup_sql(schema)}")
    for burst in range(10):  # batches of 60 new keys, looked up while the table is still (nearly) empty
        keys = [f"b{burst}-{i}" for i in range(60)]
        assert await c.fetch(f"EXECUTE lookup({_array(['window'] * 60)}, {_array(keys)})") == []
    await c.execute(f"""INSERT INTO "{schema}".idempotency_keys
                        SELECT 'window', 'k' || g, 'h', 'P-' || g, g, 'c', ARRAY['e'], now()
                        FROM generate_series(1, 20000) g""")  # grown, not analyzed
    plan = "\n".join(r[0] for r in await c.fetch("EXPLAIN EXECUTE lookup(ARRAY['window'], ARRAY['k7'])"))
    assert "Index Scan" in plan and "Seq Scan" not in plan, plan
    found = await c.fetch(f"EXECUTE lookup({_array(['window'] * 2)}, {_array(['k7', 'missing'])})")
    assert [r["project_id"] for r in found] == ["P-7"]
