"""The catalog (`ledger_meta`): builds, the live pointer, and the stable reader views in `ledger`.

Readers query `ledger.<table>`; each view selects from the live build's schema. A switch replaces
every view and the pointer in one transaction, so a reader sees the old build or the new one,
never an error or an empty ledger. Overdue flags are computed in the views against the bureau's
date today (Asia/Shanghai); the tables store only due dates, so nothing goes stale.
"""

from __future__ import annotations

import datetime as dt

import asyncpg

from ledger.projection.schema import TABLES, index_ddl, q, table_ddl

META_DDL = [
    "CREATE SCHEMA IF NOT EXISTS ledger_meta",
    "CREATE SCHEMA IF NOT EXISTS ledger",
    """CREATE OR REPLACE FUNCTION ledger_meta.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'the audit archive is insert-only: % refused on %', TG_OP, TG_TABLE_NAME
             USING ERRCODE = 'insufficient_privilege'; END $$""",
    """CREATE OR REPLACE FUNCTION ledger_meta.today() RETURNS date LANGUAGE sql STABLE AS
       $$ SELECT (now() AT TIME ZONE 'Asia/Shanghai')::date $$""",
    "CREATE SEQUENCE IF NOT EXISTS ledger_meta.build_version",
    """CREATE TABLE IF NOT EXISTS ledger_meta.builds (
         name text PRIMARY KEY, kind text NOT NULL, status text NOT NULL,
         as_of timestamptz, as_of_by text, built_to_seq bigint, certificate text,
         created_at timestamptz NOT NULL DEFAULT now(), finished_at timestamptz)""",
    """CREATE TABLE IF NOT EXISTS ledger_meta.live (
         id smallint PRIMARY KEY DEFAULT 1 CHECK (id = 1), schema text NOT NULL,
         switched_at timestamptz NOT NULL DEFAULT now())""",
    """CREATE TABLE IF NOT EXISTS ledger_meta.checkpoints (
         seq bigint PRIMARY KEY, leaves bigint NOT NULL, root text NOT NULL, signature text NOT NULL,
         key_id text NOT NULL, public_key text NOT NULL, signed_at timestamptz NOT NULL)""",
    """CREATE OR REPLACE TRIGGER checkpoints_insert_only BEFORE UPDATE OR DELETE ON ledger_meta.checkpoints
         FOR EACH ROW EXECUTE FUNCTION ledger_meta.refuse_change()""",
]
_LOCK = 73_310_001  # advisory lock serialising catalog DDL between processes


TODAY = "ledger_meta.today()"
"""SQL: the bureau's date today (Asia/Shanghai)."""


def judged(schema: str, today: str = TODAY) -> dict[str, str]:
    """SELECTs of a build's tables with the columns readers see but the tables do not store: overdue
    (judged on `today`, SQL for a date) and the departments' rates and rank. The live views are these
    on the live build; the read API uses them on an audit build, judged on its as-of day."""
    s = q(schema)
    rate = "{0}::numeric / nullif(d.completed, 0)"
    return {
        "projects": f"SELECT p.*, (NOT p.withdrawn AND p.next_due_on < {today}) AS overdue FROM {s}.projects p",
        "project_stages": f"SELECT t.*, (t.status = 'open' AND NOT t.suspended AND t.due_on < {today}) AS overdue "
                          f"FROM {s}.project_stages t",
        "project_blockers": f"SELECT b.*, (b.status = 'open' AND b.due_on < {today}) AS overdue "
                            f"FROM {s}.project_blockers b",
        "department_month": f"""SELECT d.*, round({rate.format('d.on_time')}, 4) AS on_time_rate,
              round({rate.format('d.early')}, 4) AS early_rate,
              rank() OVER (PARTITION BY d.month ORDER BY {rate.format('d.on_time')} DESC,
                           {rate.format('d.early')} DESC, d.completed DESC) AS rank
            FROM {s}.department_month d""",
    }


def view_sql(schema: str) -> list[str]:
    s = q(schema)
    return [
        *(f"CREATE OR REPLACE VIEW ledger.{table} AS {select}" for table, select in judged(schema).items()),
        f"CREATE OR REPLACE VIEW ledger.permits AS SELECT * FROM {s}.permits",
        f"CREATE OR REPLACE VIEW ledger.alerts AS SELECT * FROM {s}.alerts",
        f"CREATE OR REPLACE VIEW ledger.archive AS SELECT * FROM {s}.archive",
        f"CREATE OR REPLACE VIEW ledger.progress AS SELECT * FROM {s}.progress",
    ]


async def ensure_meta(conn: asyncpg.Connection) -> None:
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK)
        for stmt in META_DDL:
            await conn.execute(stmt)


async def live_schema(conn: asyncpg.Connection) -> str | None:
    row = await conn.fetchval("SELECT schema FROM ledger_meta.live WHERE id = 1")
    return None if row is None else str(row)


class Unreadable(ValueError):
    """A build name a reader may not read: no such build in the catalog, or one not ready."""


async def readable_build(conn: asyncpg.Connection, name: str) -> dt.date | None:
    """The day (Asia/Shanghai) a reader of build `name` judges overdue on: its as-of day, or None when it
    has none (today, then). Unreadable unless the catalog holds it ready (the live build always reads).
    One round trip: the build's row and the live pointer together."""
    row = await conn.fetchrow(
        "SELECT b.status, (b.as_of AT TIME ZONE 'Asia/Shanghai')::date AS as_of_day, l.schema AS live "
        "FROM ledger_meta.builds b LEFT JOIN ledger_meta.live l ON l.id = 1 WHERE b.name = $1", name)
    if row is None:
        raise Unreadable(f"no build named '{name}' in the catalog")
    if row["status"] != "ready" and name != row["live"]:
        raise Unreadable(f"build '{name}' is {row['status']}, not ready")
    day: dt.date | None = row["as_of_day"]
    return day


async def new_build(
    conn: asyncpg.Connection,
    *,
    name: str | None = None,
    kind: str = "live",
    as_of: dt.datetime | None = None,
    as_of_by: str | None = None,
    indexes: bool = True,
    hold: bool = False,
) -> str:
    """Create an empty build schema (tables, trigger; indexes unless deferred) and register it.

    With `hold`, this session keeps the build's advisory lock until `release_build` (or until it
    dies): that is how `drop_abandoned_builds` tells a build in progress from one left behind."""
    await ensure_meta(conn)
    if name is None:
        version = await conn.fetchval("SELECT nextval('ledger_meta.build_version')")
        name = f"ledger_v{version}"
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK)
        if await conn.fetchval("SELECT 1 FROM ledger_meta.builds WHERE name = $1", name):
            raise ValueError(f"a build named '{name}' already exists; choose another name")
        for stmt in table_ddl(name) + (index_ddl(name) if indexes else []):
            await conn.execute(stmt)
        if hold:
            await conn.execute("SELECT pg_advisory_lock(hashtext($1))", _build_lock(name))
        await conn.execute(
            "INSERT INTO ledger_meta.builds (name, kind, status, as_of, as_of_by) VALUES ($1, $2, 'building', $3, $4)",
            name, kind, as_of, as_of_by,
        )
    return name


async def create_indexes(conn: asyncpg.Connection, schema: str) -> None:
    """The dashboards' indexes after a bulk load, and fresh planner statistics: readers switched to
    this build must not meet plans made for empty tables while autovacuum has not looked yet."""
    for stmt in index_ddl(schema):
        await conn.execute(stmt)
    for table in TABLES:
        await conn.execute(f"ANALYZE {q(schema)}.{table}")


async def finish_build(conn: asyncpg.Connection, schema: str, certificate: str) -> None:
    seq = await conn.fetchval(f"SELECT applied_seq FROM {q(schema)}.progress")
    await conn.execute(
        "UPDATE ledger_meta.builds SET status = 'ready', built_to_seq = $2, certificate = $3, finished_at = now() "
        "WHERE name = $1",
        schema, seq, certificate,
    )


async def switch_live(conn: asyncpg.Connection, schema: str) -> str | None:
    """Point readers and the live projector at `schema` atomically; returns the previous live build."""
    async with conn.transaction():
        previous = await conn.fetchval("SELECT schema FROM ledger_meta.live WHERE id = 1 FOR UPDATE")
        for stmt in view_sql(schema):
            await conn.execute(stmt)
        await conn.execute(
            "INSERT INTO ledger_meta.live (id, schema, switched_at) VALUES (1, $1, now()) "
            "ON CONFLICT (id) DO UPDATE SET schema = excluded.schema, switched_at = excluded.switched_at",
            schema,
        )
        await conn.execute("UPDATE ledger_meta.builds SET kind = 'live' WHERE name = $1", schema)
    return None if previous is None else str(previous)


def _build_lock(name: str) -> str:
    return f"ledger-build:{name}"


async def release_build(conn: asyncpg.Connection, name: str) -> None:
    await conn.execute("SELECT pg_advisory_unlock(hashtext($1))", _build_lock(name))


async def drop_abandoned_builds(conn: asyncpg.Connection) -> list[str]:
    """Drop builds a replay left half-built when it died (still 'building', nobody holds their lock).

    The live build and audit builds that finished are never touched; their catalog rows go too, so
    an audit build can be re-run under the same name."""
    await ensure_meta(conn)
    dropped: list[str] = []
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK)
        rows = await conn.fetch(
            "SELECT name FROM ledger_meta.builds WHERE status = 'building' AND kind IN ('building', 'audit') "
            "AND name IS DISTINCT FROM (SELECT schema FROM ledger_meta.live WHERE id = 1)")
        for row in rows:
            name = str(row["name"])
            if await conn.fetchval("SELECT pg_try_advisory_xact_lock(hashtext($1))", _build_lock(name)):
                await conn.execute(f"DROP SCHEMA IF EXISTS {q(name)} CASCADE")
                await conn.execute("DELETE FROM ledger_meta.builds WHERE name = $1", name)
                dropped.append(name)
    return dropped


def _target_lock(name: str) -> str:
    return f"ledger-target:{name}"


async def hold_target(conn: asyncpg.Connection, schema: str) -> str:
    """Claim `schema` as the build this session (the live projector) writes to, for as long as the session
    lives or until `release_target`: drop_old_builds leaves a claimed build alone. A projector learns of a
    switch only when it next writes (an idle one can sit on its old build through several replays), so
    without the claim a second replay dropped the build under it and its next batch crashed.

    The claim is taken first and the live pointer read after it: if a replay switched meanwhile, claim
    the new live build instead. (A drop that won the race committed its switch before; the claim waits
    for the drop's transaction, then sees the new pointer.) Returns the build claimed."""
    while True:
        await conn.execute("SELECT pg_advisory_lock_shared(hashtext($1))", _target_lock(schema))
        live = await live_schema(conn)
        if live is None or live == schema:
            return schema
        await release_target(conn, schema)
        schema = live


async def release_target(conn: asyncpg.Connection, schema: str) -> None:
    await conn.execute("SELECT pg_advisory_unlock_shared(hashtext($1))", _target_lock(schema))


async def drop_old_builds(conn: asyncpg.Connection, *, keep: set[str]) -> list[str]:
    """Drop live-kind builds not in `keep` (audit as-of builds are kept until dropped by hand).

    A build the live projector still claims (hold_target) is not dropped: it moves off it at its next
    write, and a later replay drops it then. Returns the builds kept because they are in use."""
    rows = await conn.fetch("SELECT name FROM ledger_meta.builds WHERE kind = 'live' AND status <> 'dropped'")
    in_use: list[str] = []
    for row in rows:
        name = str(row["name"])
        if name in keep:
            continue
        async with conn.transaction():  # the claim is refused until this drop commits
            if not await conn.fetchval("SELECT pg_try_advisory_xact_lock(hashtext($1))", _target_lock(name)):
                in_use.append(name)
                continue
            await conn.execute(f"DROP SCHEMA IF EXISTS {q(name)} CASCADE")
            await conn.execute("UPDATE ledger_meta.builds SET status = 'dropped' WHERE name = $1", name)
    return in_use
