"""`ledger alerts [--pending|--sent|--failed] [--json]`: the notify service's alert outbox."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from ledger.cli.common import CliError, Subparsers
from ledger.settings import load_settings

STATES = {"pending": ("pending", "sending"), "sent": ("sent",), "failed": ("failed",)}


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser("alerts", help="list deadline alerts: pending, sent, failed")
    group = parser.add_mutually_exclusive_group()
    for state in STATES:
        group.add_argument(f"--{state}", dest="state", action="store_const", const=state, help=f"only {state} alerts")
    parser.add_argument("--limit", type=int, default=200, help="most rows to print (default 200)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(handler=run)


async def fetch(database_url: str, schema: str, state: str | None, limit: int) -> list[dict[str, Any]]:
    import asyncpg

    conn = await asyncpg.connect(database_url)
    try:
        if not await conn.fetchval("SELECT to_regclass($1)", f"{schema}.alerts"):
            raise CliError(f"no alerts yet: schema '{schema}' has no alerts table (is notify running?)")
        states = list(STATES[state]) if state else ["pending", "sending", "sent", "failed", "dry_run"]
        rows = await conn.fetch(
            f"""SELECT alert_key, project_id, kind, ref, level, due_on, fire_at, target, channel, state, attempts,
                       sent_at, error FROM {schema}.alerts WHERE state = ANY($1) ORDER BY fire_at, alert_key
                LIMIT $2""", states, limit)
    finally:
        await conn.close()
    return [{k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in r.items()} for r in rows]


def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    if settings.database_url is None:
        raise CliError("LEDGER_DATABASE_URL is not set (the URL `ledger up` printed)")
    rows = asyncio.run(fetch(settings.database_url, settings.notify_schema, args.state, args.limit))
    if args.json:
        sys.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")
        return 0
    for r in rows:
        extra = r["error"] or r["sent_at"] or ""
        print(f"{r['fire_at'][:16]}  {r['state']:<8} {r['level']:<10} {r['project_id']:<20} {r['kind']}:{r['ref']}"
              f"  due {r['due_on']}  → {r['target']} ({r['channel']})  {extra}")
    if not rows:
        print("no alerts")
    return 0
