"""`ledger show PROJECT`: one project's ledger entry (live, from a named build, or as of a time)."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import sys
from typing import Any

from ledger.cli.common import AS_OF_HELP, CliError, Subparsers, as_of_arg
from ledger.settings import load_settings


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser("show", help="print a project's ledger entry: stages, blockers, deadlines")
    parser.add_argument("project")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--as-of", metavar="TIME", type=as_of_arg,
                       help=AS_OF_HELP.format(what="as the ledger stood (folded from the log)"))
    group.add_argument("--schema", metavar="NAME", help="read from a named build (e.g. an as-of audit schema)")
    parser.add_argument("--by", choices=["recorded", "occurred"], default="recorded", help="with --as-of")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(handler=run)


def _print(entry: dict[str, Any]) -> None:
    from ledger.classify import LABELS_ZH

    print(f"{entry['id']}  {entry['name']}  ({entry['enterprise']}, {entry['district']} {entry['station']})")
    print(f"  track {entry['track']}  category {entry['category']} {LABELS_ZH.get(entry['category'], '')}"
          f"  version {entry['version']}{'  WITHDRAWN' if entry['withdrawn'] else ''}")
    if entry["key_project"]:
        print(f"  key project: leader {entry['key_leader']}, section {entry['key_section']}")
    print(f"  next deadline {entry['next_due_on'] or '-'} ({entry['next_due_ref'] or '-'})"
          f"{'  OVERDUE' if entry['overdue'] else ''}")
    for s in entry["stages"]:
        extra = (f"passed {s['passed_on']} in {s['working_days_used']} wd, on time {s['on_time']}, early {s['early']}"
                 if s["status"] == "passed" else f"due {s['due_on']}{' suspended' if s['suspended'] else ''}")
        print(f"  stage {s['stage']:<32} {s['status']:<8} {s['department']}  {extra}{' OVERDUE' * s['overdue']}")
    for b in entry["blockers"]:
        print(f"  blocker {b['blocker_id']:<8} {b['status']:<8} {b['side']}/{b['cause']} {b['department']}"
              f" due {b['due_on'] or '-'}{' OVERDUE' * b['overdue']}")


async def _run(args: argparse.Namespace) -> int:
    import msgspec

    from ledger.clock import SystemClock, local_date
    from ledger.projection import catalog, query
    from ledger.projection.asof import AsOf
    from ledger.projection.session import database, event_log

    settings = load_settings()
    # Overdue is judged on the day the ledger is read as of (an audit's "on 1 March"), else today.
    judged_on: dt.date | None = None
    heading: str | None = None
    if args.as_of is not None:
        as_of: AsOf = args.as_of
        judged_on, heading = local_date(as_of.at), f"{as_of.describe()}, by {args.by} time"
        async with event_log(settings) as log:
            project = await query.as_of(log, args.project, as_of.at, args.by)
    else:
        async with database(settings) as conn:
            try:  # a named build is read only when the catalog holds it ready, as the read API does
                judged_on = await catalog.readable_build(conn, args.schema) if args.schema else None
                project = await query.from_schema(conn, args.project, args.schema)
            except ValueError as err:  # catalog.Unreadable, or a name schema.q() refuses
                raise CliError(f"--schema: {err}") from None
    if project is None:
        raise CliError(f"project '{args.project}' is not in the ledger" + (f" {heading}" if heading else ""))
    entry = query.to_json(project, judged_on or local_date(SystemClock().now()))
    if args.json:
        if heading is not None:  # stdout stays the entry alone
            print(f"show: {heading}", file=sys.stderr)
        sys.stdout.write(json.dumps(msgspec.to_builtins(entry), ensure_ascii=False, indent=2) + "\n")
    else:
        if heading is not None:  # the auditor's record of how TIME was read
            print(heading)
        _print(entry)
    return 0


def run(args: argparse.Namespace) -> int:
    return asyncio.run(_run(args))
