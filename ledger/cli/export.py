"""`ledger export --until SEQ DIR`: log entries (raw bytes, seq, recorded time) and signed checkpoints."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from ledger.cli.common import Subparsers
from ledger.settings import load_settings


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser("export", help="write the log up to a sequence and its signed checkpoints")
    parser.add_argument("--until", metavar="SEQ", type=int, default=None, help="last sequence (default: the end)")
    parser.add_argument("dir", type=Path)
    parser.set_defaults(handler=run)


async def _run(until: int | None, out: Path) -> int:
    from ledger.clock import SystemClock
    from ledger.projection.export import export
    from ledger.projection.session import database, event_log
    from ledger.projection.signing import Signer

    settings = load_settings()
    signer = Signer.load_or_create(settings.signing_key_path)
    async with event_log(settings) as log, database(settings) as conn:
        end = await log.last_seq()
        written = await export(conn, log, min(until or end, end), out, signer, SystemClock())
    print(f"export: {written} entries to {out} (key {signer.key_id}); check with 'ledger verify --export {out}'")
    return 0


def run(args: argparse.Namespace) -> int:
    args.dir.mkdir(parents=True, exist_ok=True)
    return asyncio.run(_run(args.until, args.dir))
