"""The whole system as processes (projections, stages, intake, read API) against the test servers.

Each service runs as `python -m services.<name>` with LEDGER_* variables, exactly as `ledger up`
starts it, under a fresh prefix and a database of its own. Output goes to a log file per service,
shown when a wait fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import nats

from contracts.subjects import Subjects
from ledger.eventlog import EventLog, provision
from ledger.runtime.auth import ensure_demo_sources
from ledger.runtime.ports import free_port
from ledger.settings import Settings
from services.api.auth import ensure_demo_tokens, load_tokens, token_of
from tests.cli import ledger_env
from tests.waiting import eventually

SERVICES = ("projections", "stages", "intake", "api")


@dataclass(frozen=True)
class System:
    settings: Settings
    api_url: str
    viewer: str
    operator: str
    logs: Path

    def tail(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in self.logs.glob("*.log"))


def start(service: str, env: dict[str, str], logs: Path) -> subprocess.Popen[bytes]:
    out = (logs / f"{service}.log").open("wb")
    argv = [sys.executable, "-m", f"services.{service}"]
    return subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)


@contextlib.asynccontextmanager
async def running_system(nats_url: str, database_url: str, root: Path) -> AsyncIterator[System]:
    name = "sys_" + uuid.uuid4().hex[:10]
    admin = await asyncpg.connect(database_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    db = database_url.rsplit("/", 1)[0] + "/" + name
    subjects = Subjects(prefix="s" + uuid.uuid4().hex[:9])
    nc = await nats.connect(nats_url)
    await provision(nc.jetstream(), subjects)
    tokens = load_tokens(ensure_demo_tokens(root / "auth" / "api_tokens.toml"))
    sources = ensure_demo_sources(root / "auth" / "sources.toml")
    port = free_port()
    env = {**os.environ, **ledger_env(nats_url, db, subjects.prefix, root, LEDGER_SOURCES_FILE=str(sources),
                                      LEDGER_API_TOKENS_FILE=str(root / "auth" / "api_tokens.toml"),
                                      LEDGER_API_PORT=str(port))}
    logs = root / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    procs = [start(s, env, logs) for s in SERVICES]
    system = System(settings=Settings(nats_url=nats_url, database_url=db, prefix=subjects.prefix, data_dir=root,
                                      sources_file=sources, api_port=port),
                    api_url=f"http://127.0.0.1:{port}", viewer=token_of(tokens, "demo-viewer") or "",
                    operator=token_of(tokens, "demo-operator") or "", logs=logs)
    try:
        async def ready() -> bool:
            try:
                async with httpx.AsyncClient() as http:
                    return (await http.get(f"{system.api_url}/readyz", timeout=2)).status_code == 200
            except httpx.HTTPError:
                return False

        await eventually(ready, within=60, what=f"the read API to be ready\n{system.tail()}", poll=0.2)
        yield system
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                await asyncio.to_thread(p.wait, 15)
            except subprocess.TimeoutExpired:
                p.kill()
        await nc.drain()
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


async def caught_up(system: System) -> int:
    """Wait until the live ledger has applied everything in the event log; return that sequence."""
    nc = await nats.connect(system.settings.nats_url or "")
    try:
        end = await EventLog(nc, system.settings.subjects).last_seq()
    finally:
        await nc.close()
    conn = await asyncpg.connect(system.settings.database_url)
    try:
        async def applied() -> bool:
            return bool(await conn.fetchval("SELECT applied_seq FROM ledger.progress") >= end)

        await eventually(applied, within=60, what=f"projections to reach sequence {end}\n{system.tail()}")
    finally:
        await conn.close()
    return end
