"""`ledger up`: start (or connect to) NATS and Postgres, provision the log, supervise the services."""

from __future__ import annotations

import argparse
import asyncio
import shlex
from pathlib import Path

import msgspec

from ledger.cli.common import CliError, Subparsers
from ledger.settings import load_settings


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "up",
        help="run the whole system locally (embedded nats-server and Postgres unless URLs are set)",
        description=(
            "Start nats-server (JetStream, fsync on every write) and Postgres with their data under "
            "--data-dir, unless LEDGER_NATS_URL / LEDGER_DATABASE_URL point at existing servers; "
            "provision the event-log stream; run every service in services/ as its own supervised "
            "process. Prints the URLs and 'ledger is up' when ready. Ctrl-C stops everything."
        ),
    )
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="where nats and postgres keep their data (default: LEDGER_DATA_DIR or ./var)")
    parser.add_argument("--nats-port", type=int, default=None,
                        help="port of the embedded nats-server (default: LEDGER_NATS_PORT or 4222)")
    parser.add_argument("--postgres-port", type=int, default=None,
                        help="port of the embedded Postgres (default: LEDGER_POSTGRES_PORT or 5432)")
    parser.add_argument("--extra-service", action="append", default=[], metavar="NAME=COMMAND",
                        help="also supervise COMMAND as service NAME (development and tests); repeatable")
    parser.add_argument("--demo", nargs="?", type=int, const=2026, default=None, metavar="SEED",
                        help="load the demo year through intake once the system is up (idempotent; seed 2026), "
                        "then print the dashboard URL")
    parser.set_defaults(handler=run)


def _extra_services(raw: list[str]) -> list[tuple[str, list[str]]]:
    extras: list[tuple[str, list[str]]] = []
    for item in raw:
        name, sep, command = item.partition("=")
        if not sep or not name.isidentifier() or not command.strip():
            raise CliError(f"--extra-service '{item}': expected NAME=COMMAND")
        extras.append((name, shlex.split(command)))
    return extras


def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    overrides: dict[str, object] = {}
    if args.data_dir is not None:
        overrides["data_dir"] = args.data_dir
    if args.nats_port is not None:
        overrides["nats_port"] = args.nats_port
    if args.postgres_port is not None:
        overrides["postgres_port"] = args.postgres_port
    settings = msgspec.structs.replace(settings, **overrides)
    extras = _extra_services(args.extra_service)

    from ledger.runtime.stack import run_stack  # imported here: nothing heavy at CLI import time

    return asyncio.run(run_stack(settings, extras, demo=args.demo))
