"""`python -m ledger.runtime.health SERVICE`: the container health check compose runs for each service.

Exit 0 when what the service depends on answers with the service's own identity: NATS with JetStream
(and, for services with a durable consumer, that consumer exists — the service has started once),
Postgres (`SELECT 1`), and for the read API its `/readyz`. A dead process ends its container anyway
(restart policy); this check catches a live process whose dependencies are gone.

Intake's permission to trim its inbound stream is not probed here but by intake itself, once at start-up
(services/intake/inbound.py, `trim_denied`): a probe that writes (a purge, through Raft in a cluster) has
no place in a check run every few seconds.
"""

from __future__ import annotations

import asyncio
import sys
import urllib.request

import asyncpg

from ledger.natsconn import connect
from ledger.settings import Settings, load_settings
from ledger.waits import within

DURABLES = {"intake": ("inbound_stream", "intake"), "stages": ("events_stream", "stages-react")}
TIMEOUT_S = 3.0


async def check(service: str, settings: Settings) -> None:
    nc = await connect(settings, name=f"health-{service}", reconnect=False)
    try:
        js = nc.jetstream(timeout=TIMEOUT_S)
        await js.account_info()
        if service in DURABLES:
            stream_attr, durable = DURABLES[service]
            await js.consumer_info(getattr(settings.subjects, stream_attr), durable)
    finally:
        await nc.close()
    if settings.database_url is not None and service != "stages":
        conn = await asyncpg.connect(settings.database_url, timeout=TIMEOUT_S)
        try:
            await conn.fetchval("SELECT 1")
        finally:
            await conn.close()
    if service == "api":
        url = f"http://127.0.0.1:{settings.api_port}/readyz"
        await asyncio.to_thread(urllib.request.urlopen, url, timeout=TIMEOUT_S)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m ledger.runtime.health SERVICE", file=sys.stderr)
        return 2
    try:
        asyncio.run(within(check(argv[0], load_settings()), TIMEOUT_S * 3))
    except Exception as exc:  # any failure is "unhealthy"; say which
        print(f"{argv[0]}: unhealthy: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
