"""`ledger history PROJECT`: every event of a project from the log — who, which system, when, why."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from ledger.cli.common import CliError, Subparsers
from ledger.settings import load_settings


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser("history", help="print a project's full trail of events")
    parser.add_argument("project")
    parser.add_argument("--json", action="store_true", help="one JSON object per event")
    parser.set_defaults(handler=run)


async def _run(args: argparse.Namespace) -> int:
    from contracts.codec import encode
    from ledger.projection.session import event_log

    async with event_log(load_settings()) as log:
        loaded = await log.load_project(args.project)
    if not loaded.records:
        raise CliError(f"project '{args.project}' has no events in the log")
    for rec in loaded.records:
        for idx, env in enumerate(rec.commit.events):
            row = {
                "seq": rec.seq, "idx": idx, "commit": rec.commit.number, "type": type(env.event).__name__,
                "actor": env.actor, "source": env.source, "occurred_at": env.occurred_at.isoformat(),
                "recorded_at": rec.recorded_at.isoformat(), "event_id": env.event_id,
                "correlation_id": env.correlation_id, "causation_id": env.causation_id, "hash": rec.hash,
            }
            if args.json:
                row["event"] = json.loads(encode(env.event))
                sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")
            else:
                print(f"#{rec.seq:<8} {row['type']:<22} by {env.actor} via {env.source}  occurred {row['occurred_at']}"
                      f"  recorded {row['recorded_at']}  caused by {env.causation_id or '-'}"
                      f" (correlation {env.correlation_id or '-'})")
    return 0


def run(args: argparse.Namespace) -> int:
    return asyncio.run(_run(args))
