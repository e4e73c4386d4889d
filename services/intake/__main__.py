"""`python -m services.intake`: run intake until SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import signal

from ledger.runtime.auth import load_sources
from ledger.settings import load_settings
from services.intake.app import IntakeConfig, running


async def main() -> None:
    settings = load_settings()
    if settings.sources_file is None:
        raise SystemExit("intake: Config 'LEDGER_SOURCES_FILE' is not set (the operator's sources file)")
    sources = load_sources(settings.sources_file)
    config = IntakeConfig(settings=settings, allowed={s.id: s.commands for s in sources.values()})
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    log = logging.getLogger("intake")
    async with running(config) as app:
        log.info("intake ready: %s sources on %s", len(sources), settings.subjects.submit("*"))
        failure = await app.serve(stop)
        if failure is not None:  # exit non-zero: the supervisor (or compose's restart policy) starts a fresh one
            log.critical("%s; stopping so that intake is restarted", failure)
    if failure is not None:
        raise SystemExit(1)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    asyncio.run(main())
