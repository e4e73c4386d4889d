"""Postgres session settings and pool options the services share.

CUSTOM_PLANS (plan_cache_mode force_custom_plan): asyncpg prepares every statement, and after five runs
Postgres may keep a generic plan made from the statistics of that moment. Every table of ours starts
empty (a new install, a rebuilt schema), and a generic plan made then scans the whole table on each
run, growing with it, until autoanalyze happens to invalidate it. Planned for their own arguments,
the same statements probe the index; planning costs ~0.1–0.25 ms. Where it bit (figures in each
place's comment): intake's key look-ups, the live projector's look-ups of projects missing from its
cache, notify's settle UPDATE.

keep_session: a pool `reset` that does nothing, for pools whose statements leave no session state (no
session advisory lock, LISTEN or SET): asyncpg's default reset (advisory unlock, RESET ALL, …) is a
round trip on every release.
"""

from __future__ import annotations

import asyncpg

CUSTOM_PLANS: dict[str, str] = {"plan_cache_mode": "force_custom_plan"}


async def keep_session(conn: asyncpg.Connection) -> None:
    return None
