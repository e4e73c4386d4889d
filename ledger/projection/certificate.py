"""Replay certificate: a deterministic digest of a build's content, table by table.

Every ledger table is read in primary-key order as its canonical Postgres row text (UTC session
time zone), each row hashed, the row hashes hashed per table, and the table digests hashed
together. Volatile things are left out: build timestamps, the progress row (batching-dependent
position bookkeeping) and the signed checkpoints (wall-clock signing times live in the catalog).

Row text and row hashes are the expensive part (~7 µs a row), so they are computed below the
sort, where Postgres's parallel workers can share them; the aggregate then only concatenates the
hashes in key order (ORDER BY inside the aggregate: the order is guaranteed, not incidental).
The digest is read with `fetch`, not `fetchval`: asyncpg's fetchval asks the server for at most
one row, and Postgres runs no parallel plan for a row-limited execution, so the whole hashing ran
in one backend (1 M events: 9.4 s, against ~5 s with the workers).
"""

from __future__ import annotations

import hashlib

import asyncpg

from ledger.projection.schema import KEYS, TABLES, q


async def table_digests(conn: asyncpg.Connection, schema: str) -> dict[str, str]:
    out: dict[str, str] = {}
    async with conn.transaction():
        await conn.execute("SET LOCAL TimeZone = 'UTC'")
        await conn.execute("SET LOCAL extra_float_digits = 1")
        # The planner does not know a row hash is costly; without these it keeps the work in one process.
        await conn.execute("SET LOCAL parallel_setup_cost = 0")
        await conn.execute("SET LOCAL parallel_tuple_cost = 0")
        for table in TABLES:
            order = ", ".join(KEYS[table])
            rows = await conn.fetch(  # not fetchval: see the module's doc
                f"SELECT encode(sha256(convert_to(coalesce(string_agg(h, '' ORDER BY {order}), ''), 'UTF8')), 'hex') "
                f"FROM (SELECT {order}, encode(sha256(convert_to(t::text, 'UTF8')), 'hex') AS h "
                f"FROM {q(schema)}.{table} t ORDER BY {order} OFFSET 0) r")
            out[table] = str(rows[0][0])
    return out


async def certificate(conn: asyncpg.Connection, schema: str) -> str:
    digests = await table_digests(conn, schema)
    text = "".join(f"{table}:{digest}\n" for table, digest in sorted(digests.items()))
    return hashlib.sha256(text.encode()).hexdigest()
