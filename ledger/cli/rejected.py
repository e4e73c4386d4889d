"""`ledger rejected [--source S] [--since T] [--json]`: list what intake refused, with the raw bytes."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json

import nats.errors

from ledger.cli.common import CliError, Subparsers
from ledger.clock import in_bureau_zone
from ledger.natsconn import connect, operator_identity
from ledger.rejected import RejectedEntry, read_rejected
from ledger.settings import Settings, load_settings


def _time(text: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not an ISO 8601 time (e.g. 2026-03-01T08:00+08:00)") from None
    return in_bureau_zone(value)  # like --as-of elsewhere; a date alone is its start here


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "rejected",
        help="list rejected submissions (source, time, code, field, message, raw bytes)",
        description="Reads the append-only rejected stream. A time without an offset is +08:00 (the bureau's); "
                    "a date means from the start of that day.",
    )
    parser.add_argument("--source", default=None, help="only this publishing system")
    parser.add_argument("--since", type=_time, default=None, help="only entries recorded at or after this time")
    parser.add_argument("--json", action="store_true", help="one JSON object per line, raw bytes as text")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    entries = asyncio.run(_read(load_settings(), args.source, args.since))
    for entry in entries:
        print(_json(entry) if args.json else _line(entry))
    return 0


async def _read(settings: Settings, source: str | None, since: dt.datetime | None) -> list[RejectedEntry]:
    user, password = operator_identity(settings)
    try:
        nc = await connect(settings, name="ledger-rejected", user=user, password=password, reconnect=False)
    except (OSError, nats.errors.Error) as exc:
        raise CliError(f"cannot connect to NATS: {exc}; is `ledger up` running, or LEDGER_NATS_URL set?") from None
    try:
        return await read_rejected(nc, settings.subjects, source=source, since=since)
    except nats.errors.TimeoutError:
        raise CliError(f"no answer from stream {settings.subjects.rejected_stream}; does intake run?") from None
    finally:
        await nc.close()


def _line(e: RejectedEntry) -> str:
    raw = e.raw.decode("utf-8", "replace")
    raw = raw if len(raw) <= 200 else raw[:200] + f"… ({len(e.raw)} bytes)"
    field = f" [{e.field}]" if e.field else ""
    return f"{e.time}  {e.source}  {e.code}{field}: {e.message}\n    {raw}"


def _json(e: RejectedEntry) -> str:
    return json.dumps({"seq": e.seq, "source": e.source, "time": e.time, "code": e.code, "field": e.field or None,
                       "message": e.message, "subject": e.subject, "raw": e.raw.decode("utf-8", "replace")},
                      ensure_ascii=False)
