"""`python -m ledger.runtime.health SERVICE`: the container health check compose runs for each service.

Exit 0 when what the service depends on answers with the service's own identity: NATS with JetStream
(and, for services with a durable consumer, that consumer exists — the service has started once),
Postgres (`SELECT 1`), and for the read API its `/readyz`. A dead process ends its container anyway
(restart policy); this check catches a live process whose dependencies are gone.

For intake it also checks that intake's identity may purge its inbound stream: intake trims the settled part
of that stream (services/intake/inbound.py), and permissions rendered before it did deny the purge, so the
stream would only grow until its cap. The probe is a purge that removes nothing (see `_may_trim`).
"""

from __future__ import annotations

import asyncio
import sys
import urllib.request

import asyncpg
import nats.errors
from nats.js import api
from nats.js.client import JetStreamContext

from ledger.natsconn import connect
from ledger.settings import Settings, load_settings
from ledger.waits import within

DURABLES = {"intake": ("inbound_stream", "intake"), "stages": ("events_stream", "stages-react")}
TIMEOUT_S = 3.0


async def check(service: str, settings: Settings) -> None:
    errors: list[str] = []

    async def on_error(err: Exception) -> None:  # a denied publish is told here, not in its reply
        errors.append(str(err))

    nc = await connect(settings, name=f"health-{service}", reconnect=False, error_cb=on_error)
    try:
        js = nc.jetstream(timeout=TIMEOUT_S)
        await js.account_info()
        if service in DURABLES:
            stream_attr, durable = DURABLES[service]
            await js.consumer_info(getattr(settings.subjects, stream_attr), durable)
        if service == "intake":
            await _may_trim(js, settings.subjects.inbound_stream, errors)
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


async def _may_trim(js: JetStreamContext, stream: str, errors: list[str]) -> None:
    """Purge `stream` below its first sequence: a purge with `seq` removes only the sequences below it, so this
    one removes nothing, even if the trimmer moves the first sequence meanwhile. `seq` must be at least 1: the
    server reads a purge without it (and nats-py leaves out a 0) as "purge everything". A denied purge gets
    no reply, only an asynchronous permissions violation (in `errors`); a purge that times out without one
    (a leader election in a cluster) is a plain timeout."""
    info = await js.stream_info(stream)
    if info.config.retention == api.RetentionPolicy.WORK_QUEUE:  # an older intake's stream: its acks remove, no trim
        return
    try:
        await js.purge_stream(stream, seq=max(info.state.first_seq, 1))
    except (TimeoutError, nats.errors.TimeoutError) as err:
        denied = f"STREAM.PURGE.{stream}".lower()
        if any("permissions violation" in e.lower() and denied in e.lower() for e in errors):
            raise PermissionError(f"intake's identity may not purge its inbound stream {stream}, so the settled "
                                  "submissions are never trimmed and the stream grows until its cap; the NATS "
                                  "permissions predate trimming: render them again ('ledger provision auth DIR') "
                                  "and reload every nats-server") from err
        raise TimeoutError(f"the probe of intake's trim permission (a purge of {stream} that removes nothing) "
                           "got no answer") from err


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
