"""Benchmark: read-API latency with 100 000 projects in the ledger (rows written directly with COPY).

    .venv/bin/python -m bench.api [--projects 100000] [--requests 300] [--database-url postgresql://…]

Starts its own Postgres unless --database-url is given, loads one build, switches it live, starts
the API (`python -m services.api`, uvicorn) and times sequential HTTP requests per endpoint.
Target: p99 < 50 ms for the list and detail endpoints.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import asyncpg
import httpx

from bench.api_rows import DISTRICTS, figure_rows, project_rows
from ledger.projection import catalog
from ledger.runtime.api_tokens import ensure_demo_tokens, load_tokens, token_of
from ledger.runtime.ports import free_port
from ledger.runtime.postgres import PostgresServer
from tests.api.rows import insert

TARGETED = {"projects: first page", "projects: filtered", "projects: text search", "projects: sort by due date",
            "projects: page 50 by cursor", "project detail"}
Request = tuple[str, dict[str, str | int | None]]  # (path, query parameters) of one GET


async def load(url: str, n: int) -> float:
    conn = await asyncpg.connect(url)
    started = time.perf_counter()
    schema = await catalog.new_build(conn, name="ledger_v1", indexes=False)
    for table, rows in [*project_rows(n), *figure_rows()]:
        await insert(conn, schema, table, rows)
    await catalog.create_indexes(conn, schema)  # and ANALYZE
    await catalog.switch_live(conn, schema)
    await conn.close()
    return time.perf_counter() - started


async def measure(base: str, token: str, n: int, requests: int) -> dict[str, list[float]]:
    rng = random.Random(3)
    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30) as http:
        cursor: str | None = None
        for _ in range(50):  # walk 50 pages to get a deep cursor
            cursor = (await http.get("/api/v1/projects", params={"limit": 50, **({"cursor": cursor} if cursor else {})}
                                     )).json()["next_cursor"]
        cases: dict[str, Callable[[], Request]] = {
            "projects: first page": lambda: ("/api/v1/projects", {"limit": 50}),
            "projects: filtered": lambda: ("/api/v1/projects", {"district": rng.choice(DISTRICTS), "overdue": "true",
                                                                "limit": 50}),
            "projects: text search": lambda: ("/api/v1/projects", {"q": f"企业{rng.randint(0, 4999):04d}",
                                                                   "limit": 50}),
            "projects: sort by due date": lambda: ("/api/v1/projects", {"sort": "next_due_on", "limit": 50}),
            "projects: page 50 by cursor": lambda: ("/api/v1/projects", {"limit": 50, "cursor": cursor}),
            "project detail": lambda: (f"/api/v1/projects/GZ-{rng.randrange(n):07d}", {}),
            "deadlines: overdue": lambda: ("/api/v1/deadlines", {"overdue": "true", "limit": 50}),
            "departments: ranking": lambda: ("/api/v1/departments/ranking", {"month": "2026-06"}),
            "permits: year": lambda: ("/api/v1/permits", {"year": 2026}),
            "overview": lambda: ("/api/v1/overview", {}),
        }
        out: dict[str, list[float]] = {}
        for name, make in cases.items():
            times = []
            for i in range(requests + 10):
                path, params = make()
                t = time.perf_counter()
                r = await http.get(path, params=params)
                elapsed = time.perf_counter() - t
                if r.status_code != 200:
                    raise RuntimeError(f"{name}: {r.status_code} {r.text[:200]}")
                if i >= 10:  # warm-up
                    times.append(elapsed * 1000)
            out[name] = times
    return out


def start_api(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "services.api"], env=env)


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] if len(values) > 1 else values[0]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--projects", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=300, help="timed requests per endpoint")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-api-") as tmp:
        root = Path(tmp)
        server = None
        admin_url = args.database_url
        if admin_url is None:
            server = PostgresServer(root / "pg", free_port(), log_file=root / "pg.log")
            server.start()
            admin_url = server.url()
        name = "bench_api_" + uuid.uuid4().hex[:8]
        admin = await asyncpg.connect(admin_url)
        await admin.execute(f'CREATE DATABASE "{name}"')
        url = admin_url.rsplit("/", 1)[0] + "/" + name
        proc = None
        try:
            seconds = await load(url, args.projects)
            print(f"loaded {args.projects:,} projects (stages, blockers, 4 archive events each) in {seconds:.1f} s")
            tokens = ensure_demo_tokens(root / "api_tokens.toml")
            port = free_port()
            env = {**os.environ, "LEDGER_DATABASE_URL": url, "LEDGER_API_TOKENS_FILE": str(tokens),
                   "LEDGER_API_PORT": str(port)}
            proc = start_api(env)
            base = f"http://127.0.0.1:{port}"
            async with httpx.AsyncClient() as http:
                for _ in range(300):
                    try:
                        if (await http.get(f"{base}/readyz")).status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    await asyncio.sleep(0.1)
            results = await measure(base, token_of(load_tokens(tokens), "demo-viewer") or "", args.projects,
                                    args.requests)
            print(f"\n{'endpoint':32} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}  target")
            for endpoint, times in results.items():
                p99 = pct(times, 99)
                verdict = ("ok" if p99 < 50 else "MISSED") if endpoint in TARGETED else ""
                print(f"{endpoint:32} {pct(times, 50):8.2f} {pct(times, 95):8.2f} {p99:8.2f} {max(times):8.2f}  "
                      f"{verdict}")
        finally:
            if proc is not None:
                proc.terminate()
                proc.wait(10)
            await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            await admin.close()
            if server is not None:
                server.stop()


if __name__ == "__main__":
    asyncio.run(main())
