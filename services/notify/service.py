"""`python -m services.notify`: one replica with settings, policy and routes read once at start-up."""

from __future__ import annotations

import asyncio
import logging
import signal

from ledger.clock import SystemClock
from ledger.eventlog import EventLog
from ledger.natsconn import connect
from ledger.settings import ConfigError, Settings
from ledger.waits import until_set_or_ended
from services.notify.app import running
from services.notify.config import load_config
from services.notify.policy import load_policy

log = logging.getLogger("notify")


async def run(settings: Settings) -> None:
    if settings.database_url is None:
        raise ConfigError("Config 'LEDGER_DATABASE_URL' is not set. Start the system with 'ledger up' or set it.")
    config = load_config(settings.notify_config, settings.notify_secrets_path)
    if settings.notify_dry_run:
        config = type(config)(config.targets, config.routes, config.transport, dry_run=True)
    policy = load_policy(settings.notify_policy)
    nc = await connect(settings, name="notify")
    failure: str | None = None
    try:
        async with running(EventLog(nc, settings.subjects), settings.database_url, schema=settings.notify_schema,
                           config=config, policy=policy, clock=SystemClock()) as replica:
            log.info("notify ready: %d targets, %d routes, policy %s%s", len(config.targets), len(config.routes),
                     policy.version, " (dry run: logging instead of sending)" if config.dry_run else "")
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            # the replica's loops run until it stops: one that ended has failed
            failure = await until_set_or_ended(stop, replica.tasks)  # e.g. "notify lease renewal ended (…)"
            if failure is not None:
                log.critical("%s; stopping so that notify is restarted", failure)
    finally:
        await nc.drain()
    if failure is not None:  # exit non-zero: the supervisor (or compose's restart policy) starts a fresh one
        raise SystemExit(1)
