"""`ledger up`: the servers, the event-log stream and the services, until SIGINT or SIGTERM."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Mapping, Sequence

import msgspec
import nats
import nats.errors

from ledger.natsconn import auth_dir, sources_file
from ledger.runtime.auth import ADMIN, ensure_demo_sources, ensure_secrets, identity_env, with_identity
from ledger.runtime.dashboard import announce, api_env
from ledger.runtime.embedded import StartupError, start_nats, start_postgres
from ledger.runtime.services import ServiceSpec, service_specs
from ledger.runtime.supervisor import ProcessSpec, Supervisor, emit
from ledger.settings import Settings, redact
from ledger.waits import cancel_and_wait


async def provision_log(nats_url: str, settings: Settings) -> None:
    from ledger.eventlog import provision  # the event log owns the stream's configuration

    async def quiet(exc: Exception) -> None:
        """nats-py would print each failed attempt's traceback; one clear error follows instead."""

    try:
        nc = await nats.connect(nats_url, user=settings.nats_user, password=settings.nats_password,
                                connect_timeout=5, max_reconnect_attempts=2, reconnect_time_wait=0.5,
                                allow_reconnect=False, error_cb=quiet)
    except Exception as exc:  # nats-py raises several unrelated types here
        reason = str(exc) or type(exc).__name__
        raise StartupError(f"cannot connect to NATS at {redact(nats_url)}: {reason}") from exc
    try:
        await provision(nc.jetstream(), settings.subjects, replicas=settings.replicas)
    except nats.errors.Error as exc:
        raise StartupError(f"cannot provision the event-log stream: {exc}") from exc
    finally:
        await nc.close()


class Servers(msgspec.Struct, frozen=True, kw_only=True):
    """What the services connect to; `passwords` are the generated identities when the nats-server is ours."""

    nats_url: str
    database_url: str
    passwords: dict[str, str] | None


async def start_servers(supervisor: Supervisor, settings: Settings) -> Servers:
    """Start the embedded nats-server and Postgres (unless URLs are set) and provision the event-log stream."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    nats_url = settings.nats_url or await start_nats(supervisor, settings)
    database_url = settings.database_url or await start_postgres(supervisor, settings)
    passwords = ensure_secrets(auth_dir(settings)) if settings.nats_url is None else None  # embedded: ours
    admin = (msgspec.structs.replace(settings, nats_user=ADMIN, nats_password=passwords[ADMIN])
             if passwords else settings)
    await provision_log(nats_url, admin)
    return Servers(nats_url=nats_url, database_url=database_url, passwords=passwords)


async def start_services(supervisor: Supervisor, settings: Settings, servers: Servers,
                         extras: Sequence[tuple[str, list[str]]] = (), *,
                         extra_env: Mapping[str, str] | None = None) -> list[ServiceSpec]:
    """Every service in services/ (then `extras`) as a supervised process; `extra_env` goes to each one."""
    passwords = servers.passwords
    env = {**(extra_env or {}), "LEDGER_NATS_URL": servers.nats_url, "LEDGER_DATABASE_URL": servers.database_url,
           "LEDGER_PREFIX": settings.prefix, "LEDGER_DATA_DIR": str(settings.data_dir.resolve()),
           "LEDGER_SOURCES_FILE": str(ensure_demo_sources(sources_file(settings))),
           **api_env(settings)}
    specs = [with_identity(spec, passwords) for spec in service_specs(env)]  # each its own identity, api too
    specs += [ServiceSpec(name=n, argv=tuple(argv), env=identity_env(env, ADMIN, passwords)) for n, argv in extras]
    for spec in specs:
        await supervisor.start(ProcessSpec(name=spec.name, argv=spec.argv, env=spec.env))
    return specs


async def _start(supervisor: Supervisor, settings: Settings, extras: Sequence[tuple[str, list[str]]],
                 demo: int | None = None) -> None:
    servers = await start_servers(supervisor, settings)
    specs = await start_services(supervisor, settings, servers, extras)
    emit("ledger", f"NATS URL: {redact(servers.nats_url)}")
    emit("ledger", f"Postgres URL: {redact(servers.database_url)}")
    emit("ledger", f"services: {', '.join(s.name for s in specs) or 'none yet'}")
    emit("ledger", "ledger is up (Ctrl-C to stop)")
    await announce(msgspec.structs.replace(settings, nats_url=servers.nats_url, database_url=servers.database_url),
                   demo)


async def run_stack(settings: Settings, extras: Sequence[tuple[str, list[str]]] = (), *, demo: int | None = None
                    ) -> int:
    """Start everything, wait for SIGINT/SIGTERM, stop services, then Postgres, then nats."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    supervisor = Supervisor()
    starting = asyncio.create_task(_start(supervisor, settings, extras, demo))
    stopping = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if starting.done():
            starting.result()  # re-raises a start-up failure
            await stopping
        else:  # stopped while starting: let the start-up unwind before stopping what it started
            await cancel_and_wait([starting])
    finally:
        stopping.cancel()
        emit("ledger", "stopping")
        await supervisor.stop_all()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    emit("ledger", "stopped")
    return 0
