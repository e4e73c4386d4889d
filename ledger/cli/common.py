"""Shared pieces for subcommand modules: the user-facing error and the subparsers type."""

from __future__ import annotations

import argparse
from typing import TypeAlias

Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


class CliError(Exception):
    """A user-facing failure: `main` prints `ledger <command>: error: <message>` and exits 1."""
