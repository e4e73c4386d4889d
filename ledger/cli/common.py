"""Shared pieces for subcommand modules: the user-facing error, the subparsers type, shared help texts."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:
    from ledger.projection.asof import AsOf

Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


class CliError(Exception):
    """A user-facing failure: `main` prints `ledger <command>: error: <message>` and exits 1."""


AS_OF_HELP = ("{what} at TIME: a time (ISO, e.g. 2026-03-01T09:30; +08:00 unless it has an offset) counts up to "
              "and including that instant; a date alone (2026-03-01) is the whole day: everything before 00:00 "
              "+08:00 of the next day")


def as_of_arg(text: str) -> AsOf:
    """argparse `type=` for --as-of TIME (AS_OF_HELP): a bad TIME is a usage error naming both forms."""
    from ledger.projection.asof import parse_as_of

    try:
        return parse_as_of(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
