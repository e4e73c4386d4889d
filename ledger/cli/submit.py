"""`ledger submit --source S FILE.json`: send a submission exactly as an external system would."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

import nats.errors

from contracts.codec import decode_receipt, encode
from contracts.receipts import Accepted
from ledger.cli.common import CliError, Subparsers
from ledger.natsconn import connect, request_patiently, sources_file
from ledger.runtime.auth import inbox_prefix, load_sources
from ledger.settings import Settings, load_settings


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "submit",
        help="send a submission as a publishing system would (request/reply) and print the receipt",
        description="Reads FILE (a Submission in JSON, '-' for stdin), sends it on <prefix>.intake.<SOURCE>.submit "
        "with SOURCE's credentials from the sources file, prints the receipt. Exit status 1 when rejected.",
    )
    parser.add_argument("file", help="the submission (JSON); '-' reads stdin")
    parser.add_argument("--source", required=True, help="publishing system id (a table in the sources file)")
    parser.add_argument("--sources", type=Path, default=None,
                        help="sources file (default: LEDGER_SOURCES_FILE or <data dir>/auth/sources.toml)")
    parser.add_argument("--timeout", type=float, default=10.0,
                        help="seconds to wait for the receipt (also while intake is restarting)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    path = args.sources or sources_file(settings)
    try:
        sources = load_sources(path)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    if args.source not in sources:
        raise CliError(f"source '{args.source}' is not in {path} (known: {', '.join(sorted(sources)) or 'none'})")
    body = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
    return asyncio.run(_send(settings, args.source, sources[args.source].password, body, args.timeout))


async def _send(settings: Settings, source: str, password: str, body: bytes, wait_s: float) -> int:
    try:
        nc = await connect(settings, name=f"ledger-submit-{source}", user=source, password=password,
                           inbox_prefix=inbox_prefix(source), reconnect=False)
    except (OSError, nats.errors.Error) as exc:
        raise CliError(f"cannot connect to NATS as '{source}': {exc}") from None
    try:
        reply = await request_patiently(nc, settings.subjects.submit(source), body, within=wait_s)
    except nats.errors.NoRespondersError:
        raise CliError(f"intake is not running (no responders for {wait_s:g} s)") from None
    except nats.errors.TimeoutError:
        raise CliError(f"no receipt within {wait_s:g} s") from None
    finally:
        await nc.close()
    receipt = decode_receipt(reply.data)
    print(encode(receipt).decode())
    return 0 if isinstance(receipt, Accepted) else 1
