"""The plan a prepared look-up keeps once its table grew after the connection planned it.

asyncpg prepares every statement; after five runs Postgres may switch to a generic plan built from the
statistics of that moment. `plan_after_growth` runs a look-up often while its table is empty, fills the
table (not analyzed) and returns the plan the same connection then uses for it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import asyncpg


@dataclass(frozen=True)
class Lookup:
    """A look-up statement on one table, and how to exercise it (EXECUTE takes literal arguments only)."""

    table: str  # schema-qualified, quoted as the statements quote it
    params: str  # the statement's parameter types, e.g. "text[], text[]"
    sql: str
    misses: list[str]  # arguments of look-ups run while the table is (nearly) empty: each finds nothing
    grow: str  # the statement that fills the table
    hit: str  # arguments that, once the table grew, find rows whose …
    column: str  # … column …
    found: list[object]  # … holds these values, in this order
    explained: str  # arguments of the look-up whose plan is returned


async def plan_after_growth(url: str, settings: dict[str, str],
                            create: Callable[[asyncpg.Connection], Awaitable[Lookup]]) -> str:
    """The plan a connection with `settings` uses for the look-up that `create` makes (with its empty table),
    after running it often while the table was empty and then filling the table (not analyzed)."""
    conn = await asyncpg.connect(url, server_settings=settings)
    try:
        lookup = await create(conn)
        # No autoanalyze between the growth and EXPLAIN: it would re-plan, and the test would say nothing.
        await conn.execute(f"ALTER TABLE {lookup.table} SET (autovacuum_enabled = off)")
        options = await conn.fetchval("SELECT reloptions FROM pg_class WHERE oid = $1::regclass", lookup.table)
        assert "autovacuum_enabled=off" in (options or []), options
        await conn.execute(f"PREPARE lookup({lookup.params}) AS {lookup.sql}")
        for args in lookup.misses:
            assert await conn.fetch(f"EXECUTE lookup({args})") == []
        await conn.execute(lookup.grow)  # grown, not analyzed
        assert [r[lookup.column] for r in await conn.fetch(f"EXECUTE lookup({lookup.hit})")] == lookup.found
        return "\n".join(r[0] for r in await conn.fetch(f"EXPLAIN EXECUTE lookup({lookup.explained})"))
    finally:
        await conn.close()
