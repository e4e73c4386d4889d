"""Run the operator CLI (`python -m ledger.cli`) as its own process, without blocking the tests' event loop."""

from __future__ import annotations

import asyncio
import os
import sys
from typing import NamedTuple


class Ran(NamedTuple):
    returncode: int
    stdout: str
    stderr: str


LIMIT_S = 60.0


async def ledger_cli(env: dict[str, str], *args: str) -> Ran:
    """`ledger <args>` with os.environ updated by `env`; killed (and the test failed) after LIMIT_S seconds."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ledger.cli", *args, env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), LIMIT_S)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode is not None
    return Ran(proc.returncode, out.decode(), err.decode())
