"""`ledger demo [--seed N]`: publish a year of a district bureau through intake, as the external systems would."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from ledger.cli.common import CliError, Subparsers
from ledger.settings import Settings, load_settings

if TYPE_CHECKING:
    from ledger.demo.publish import Report


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="load the demo year (seed cases + a district's volume) through intake; idempotent",
        description="Sends the demo scenario as NATS requests to <prefix>.intake.<source>.submit with the demo "
        "sources' credentials (window, landsys, permits, registry). Deterministic for a seed; running it again "
        "appends nothing (every submission has a fixed idempotency key). Needs a running system (ledger up).",
    )
    parser.add_argument("--seed", type=int, default=None, help="scenario seed (default 2026)")
    parser.add_argument("--sources", type=Path, default=None,
                        help="sources file (default: LEDGER_SOURCES_FILE or <data dir>/auth/sources.toml)")
    parser.add_argument("--concurrency", type=int, default=8, help="projects published side by side")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    report = asyncio.run(load_demo(settings, seed=args.seed, sources_path=args.sources,
                                   concurrency=args.concurrency))
    return 0 if not report.rejected else 1


async def load_demo(settings: Settings, *, seed: int | None = None, sources_path: Path | None = None,
                    concurrency: int = 8, say: bool = True) -> Report:
    from ledger.demo.publish import publish
    from ledger.demo.scenario import DEFAULT_SEED, scenario, summary
    from ledger.natsconn import sources_file
    from ledger.runtime.auth import load_sources

    path = sources_path or sources_file(settings)
    try:
        sources = load_sources(path)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    scripts = scenario(DEFAULT_SEED if seed is None else seed)
    plan = summary(scripts)
    if say:
        print(f"demo: {len(scripts)} projects, {sum(plan.values())} submissions "
              f"({', '.join(f'{k} {v}' for k, v in plan.items())})", flush=True)
    try:
        report = await publish(settings, scripts, sources, concurrency=max(1, concurrency))
    except ValueError as exc:
        raise CliError(str(exc)) from None
    if say:
        print(f"demo: {report.accepted} accepted, {report.duplicates} already in the ledger, "
              f"{len(report.rejected)} rejected", flush=True)
        for key, code, message in report.rejected[:20]:
            print(f"demo: rejected {key}: {code}: {message}", flush=True)
    return report
