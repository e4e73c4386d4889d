"""The `ledger` command: argparse with one module per subcommand.

Each module in `SUBCOMMANDS` exposes `register(subparsers) -> None`, which adds its parser and
sets `handler=<function(args) -> int>` as a default. Add a subcommand with one line below.
Nothing here connects anywhere at import time.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from types import ModuleType

from ledger.cli.common import CliError
from ledger.settings import ConfigError

# One line per subcommand module ledger/cli/<name>.py (each has `register(subparsers)`); names, not
# imports, so that adding a command is one line that never conflicts with import sorting.
SUBCOMMANDS: list[str] = [
    "up",
    "replay", "show", "history", "verify", "export",  # projections
    "calendar",
    "submit", "rejected",  # intake
    "provision",  # deployment (compose, clusters)
    "alerts",  # notify
    "demo",  # read API / dashboard: the demo year through intake
]

__all__ = ["SUBCOMMANDS", "CliError", "build_parser", "main"]

Handler = Callable[[argparse.Namespace], int]

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ledger",
        description="Event-sourced ledger of construction projects (planning & natural-resources bureau).",
        epilog="Configuration comes from LEDGER_* environment variables; see README.md. "
        "Run 'ledger <command> --help' for a command's options.",
    )
    subparsers = parser.add_subparsers(title="commands", metavar="<command>", dest="command")
    for name in SUBCOMMANDS:
        module: ModuleType = importlib.import_module(f"ledger.cli.{name}")
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return handler(args)
    except (CliError, ConfigError, OSError, TimeoutError, RuntimeError) as exc:
        print(f"ledger {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
