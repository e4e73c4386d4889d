"""The notify schema in Postgres: the deadline view, the alert outbox, and the applied log position."""

from __future__ import annotations

import re

import asyncpg

_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def check_schema(schema: str) -> str:
    if not _NAME.match(schema):
        raise ValueError(f"schema name {schema!r} is not a plain lower-case identifier")
    return schema


def ddl(s: str) -> str:
    check_schema(s)
    return f"""
CREATE SCHEMA IF NOT EXISTS {s};
CREATE TABLE IF NOT EXISTS {s}.position (id int PRIMARY KEY DEFAULT 1 CHECK (id = 1), seq bigint NOT NULL);
INSERT INTO {s}.position (id, seq) VALUES (1, 0) ON CONFLICT DO NOTHING;
CREATE TABLE IF NOT EXISTS {s}.projects (
    project_id text PRIMARY KEY, name text NOT NULL, district text NOT NULL,
    leader text NOT NULL, section text NOT NULL);
CREATE TABLE IF NOT EXISTS {s}.deadlines (
    id text PRIMARY KEY, project_id text NOT NULL, kind text NOT NULL, ref text NOT NULL,
    department text NOT NULL, opened_on date NOT NULL, due_on date NOT NULL, limit_days int,
    status text NOT NULL, missing text[] NOT NULL, updated_seq bigint NOT NULL);
CREATE INDEX IF NOT EXISTS deadlines_project ON {s}.deadlines (project_id);
CREATE TABLE IF NOT EXISTS {s}.alerts (
    alert_key text PRIMARY KEY,
    deadline_id text NOT NULL, project_id text NOT NULL, kind text NOT NULL, ref text NOT NULL,
    level text NOT NULL, level_rank int NOT NULL, due_on date NOT NULL, fire_on date,
    target text NOT NULL, channel text NOT NULL, recipient text NOT NULL, department text NOT NULL,
    fire_at timestamptz NOT NULL,
    state text NOT NULL,  -- pending | sending | sent | failed | cancelled | superseded | dry_run
    attempts int NOT NULL DEFAULT 0, claimed_until timestamptz, claimed_by text,
    sent_at timestamptz, error text, created_seq bigint NOT NULL, recorded_seq bigint);
CREATE INDEX IF NOT EXISTS alerts_due ON {s}.alerts (fire_at) WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS alerts_lease ON {s}.alerts (claimed_until) WHERE state = 'sending';
CREATE INDEX IF NOT EXISTS alerts_deadline ON {s}.alerts (deadline_id, due_on, target);
"""


async def ensure_schema(conn: asyncpg.Connection, schema: str) -> None:
    # Two replicas may start together: serialise the DDL on an advisory lock.
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"notify-ddl:{schema}")
        await conn.execute(ddl(schema))


def wake_channel(schema: str) -> str:
    """The LISTEN/NOTIFY channel that wakes every replica's scheduler when alert rows change."""
    return f"{check_schema(schema)}_wake"
