"""`ledger verify`: hash chains, archive and signed checkpoints against the log; or an export, offline."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from ledger.cli.common import CliError, Subparsers
from ledger.settings import load_settings


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "verify", help="recompute every hash chain and compare the audit archive; or check an export offline",
        description="Without --export: reads the whole event log, recomputes every project's hash chain, compares "
                    "the live (or --schema) audit archive field by field and checks every signed checkpoint. "
                    "With --export DIR: checks an export with no database and no server. Exit 1 and the first "
                    "break (project, sequence, field) when anything does not match.")
    parser.add_argument("--export", metavar="DIR", type=Path, help="verify an export folder offline")
    parser.add_argument("--schema", metavar="NAME", help="archive of this build instead of the live one")
    parser.set_defaults(handler=run)


async def _online(schema: str | None) -> int:
    from ledger.projection import catalog
    from ledger.projection.audit import verify
    from ledger.projection.session import database, event_log

    settings = load_settings()
    async with event_log(settings) as log, database(settings) as conn:
        schema = schema or await catalog.live_schema(conn)
        if schema is None:
            raise CliError("there is no live ledger yet; start the projections service or run 'ledger replay'")
        report = await verify(conn, log, schema)
    if report.first_break is not None:
        print(f"verify: {report.first_break}")
        return 1
    print(f"verify: ok — {report.commits} commits, {report.archive_rows} archive rows ({schema}), "
          f"{report.checkpoints} signed checkpoints")
    return 0


def run(args: argparse.Namespace) -> int:
    if args.export is not None:
        from ledger.projection.export import verify_export
        from ledger.projection.signing import key_id

        if not (args.export / "events.log").is_file():
            raise CliError(f"{args.export}: not an export folder (no events.log)")
        entries, checked, first = verify_export(args.export)
        if first is not None:
            print(f"verify: {first}")
            return 1
        print(f"verify: ok — {entries} entries, {checked} signed checkpoints, key "
              f"{key_id((args.export / 'public_key.pem').read_text())}")
        return 0
    return asyncio.run(_online(args.schema))
