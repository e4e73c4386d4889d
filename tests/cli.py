"""Run the operator CLI (`python -m ledger.cli`), or any command, as its own process without blocking the tests'
event loop (the servers' clients and receivers share it)."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

from ledger.waits import within


class Ran(NamedTuple):
    returncode: int
    stdout: str
    stderr: str


LIMIT_S = 60.0


async def run(argv: Sequence[str], env: Mapping[str, str], *, limit: float = LIMIT_S) -> Ran:
    """`argv` with exactly the environment `env`; killed (and the test failed: TimeoutError) after `limit` s."""
    proc = await asyncio.create_subprocess_exec(
        *argv, env=dict(env), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await within(proc.communicate(), limit)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode is not None
    return Ran(proc.returncode, out.decode(), err.decode())


def ledger_env(nats_url: str, database_url: str, prefix: str, data_dir: Path | None = None,
               **extra: str) -> dict[str, str]:
    """The settings a service or the CLI reads to reach one test's servers (LEDGER_*), without os.environ."""
    env = {"LEDGER_NATS_URL": nats_url, "LEDGER_DATABASE_URL": database_url, "LEDGER_PREFIX": prefix, **extra}
    if data_dir is not None:
        env["LEDGER_DATA_DIR"] = str(data_dir)
    return env


async def ledger_cli(env: dict[str, str], *args: str) -> Ran:
    """`ledger <args>` with os.environ updated by `env`; killed (and the test failed) after LIMIT_S seconds."""
    return await run([sys.executable, "-m", "ledger.cli", *args], {**os.environ, **env})
