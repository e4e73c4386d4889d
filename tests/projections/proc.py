"""Running the live projector as a real process, and waiting on conditions (never fixed sleeps)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg

from tests import waiting
from tests.cli import ledger_env


def start_projector(
    nats_url: str, database_url: str, prefix: str, data_dir: Path, **extra: str
) -> subprocess.Popen[bytes]:
    env = {**os.environ, **ledger_env(nats_url, database_url, prefix, data_dir, **extra)}
    log = open(data_dir / "projector.log", "ab")  # handed to the child
    return subprocess.Popen([sys.executable, "-m", "services.projections"], env=env, stdout=log, stderr=log)


async def eventually(check: Callable[[], Awaitable[bool]], limit: float = 30.0, what: str = "condition") -> None:
    """tests.waiting.eventually with this module's positional (check, limit, what) form."""
    await waiting.eventually(check, within=limit, what=what, poll=0.01)


async def applied_seq(conn: asyncpg.Connection) -> int:
    try:
        return int(await conn.fetchval("SELECT applied_seq FROM ledger.progress") or 0)
    except (asyncpg.UndefinedTableError, asyncpg.InvalidSchemaNameError):
        return 0
