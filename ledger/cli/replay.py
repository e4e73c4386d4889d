"""`ledger replay`: rebuild the ledger from sequence 1 into a new schema and switch readers to it."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

from ledger.cli.common import AS_OF_HELP, CliError, Subparsers, as_of_arg
from ledger.settings import load_settings


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "replay", help="rebuild the ledger from the event log (no downtime), or build an as-of audit ledger",
        description="Folds the whole log into a new schema while the live ledger keeps serving, then switches "
                    "readers atomically. With --as-of or --into it builds a named audit schema instead and does "
                    "not switch. Prints the replay certificate of the new build and of the live one.")
    parser.add_argument("--as-of", metavar="TIME", type=as_of_arg,
                        help=AS_OF_HELP.format(what="only what the ledger knew"))
    parser.add_argument("--by", choices=["recorded", "occurred"], default="recorded",
                        help="as-of by recorded time (default) or by occurred time (bitemporal)")
    parser.add_argument("--into", metavar="NAME", help="name of the audit schema (lower-case, digits, '_')")
    parser.set_defaults(handler=run)


class _Meter:
    """Progress on stderr, at most once a second: sequence, events/s and ETA."""

    def __init__(self, target: int) -> None:
        self.target, self.start, self.last = target, time.monotonic(), 0.0

    def __call__(self, applied: int, events: int) -> None:
        now = time.monotonic()
        if now - self.last < 1.0 and applied < self.target:
            return
        self.last = now
        rate = events / max(now - self.start, 1e-6)
        seq_rate = applied / max(now - self.start, 1e-6)
        eta = max(self.target - applied, 0) / seq_rate if seq_rate else 0.0
        print(f"replay: {applied}/{self.target} commits, {events} events, {rate:,.0f} events/s, ETA {eta:.0f}s",
              file=sys.stderr, flush=True)


async def _run(args: argparse.Namespace) -> int:
    from ledger.logpump import PumpError
    from ledger.projection import catalog
    from ledger.projection.asof import AsOf
    from ledger.projection.build import build, same_point_certificates
    from ledger.projection.certificate import certificate
    from ledger.projection.session import database, event_log

    settings = load_settings()
    as_of: AsOf | None = args.as_of
    at = None
    if as_of is not None:
        if not args.into:
            raise CliError("--as-of needs --into NAME: an as-of ledger is an audit schema, never the live one")
        at = as_of.at
        print(f"replay: {as_of.describe()}, by {args.by} time", file=sys.stderr, flush=True)  # how TIME was read
    async with event_log(settings) as log, database(settings) as conn:
        meter = _Meter(await log.last_seq())
        try:
            built = await build(conn, log, name=args.into, as_of=at, by=args.by, switch=not args.into,
                                progress=meter, batch_size=settings.projector_batch)
        except ValueError as err:
            raise CliError(str(err)) from None
        except PumpError as err:
            raise CliError(f"{err}; the half-built schema is dropped by the next `ledger replay`") from None
        if built.abandoned:
            print(f"replay: dropped {', '.join(built.abandoned)}: half-built by a replay that stopped", file=sys.stderr)
        if built.in_use:
            print(f"replay: kept {', '.join(built.in_use)}: the live projector writes to it until its next batch "
                  "(a later replay drops it)", file=sys.stderr)
        elapsed = time.monotonic() - meter.start
        print(f"replay: {built.events} events in {elapsed:.1f}s ({built.events / max(elapsed, 1e-6):,.0f} events/s; "
              + built.phases_text() + ")", file=sys.stderr)
        live = await catalog.live_schema(conn)
        if live is not None and live != built.schema and at is None:
            # compare at one sequence: the live ledger keeps following the log meanwhile
            seq, new_cert, live_cert = await same_point_certificates(conn, log, built.schema, live)
            print(f"new   {built.schema:<24} seq {seq:<10} certificate {new_cert}")
            print(f"live  {live:<24} seq {seq:<10} certificate {live_cert}"
                  + ("" if new_cert == live_cert else "   DIFFERENT: the live ledger does not match the log"))
            return 0
        print(f"new   {built.schema:<24} seq {built.applied_seq:<10} certificate {built.certificate}")
        if live is not None and live != built.schema:
            print(f"live  {live:<24} certificate {await certificate(conn, live)}")
        elif built.previous:
            print(f"prev  {built.previous:<24} certificate {await certificate(conn, built.previous)}")
    return 0


def run(args: argparse.Namespace) -> int:
    return asyncio.run(_run(args))
