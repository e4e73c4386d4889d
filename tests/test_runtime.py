"""`ledger up` as real processes: servers, data across restarts, crash restarts, clean stop, no orphans."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import nats
import pytest

from ledger.cli import main
from ledger.runtime.ports import free_port
from ledger.runtime.supervisor import Child, ProcessSpec
from ledger.waits import within
from tests.cli import ledger_env
from tests.waiting import eventually

UP_SECONDS = 120.0
STOP_SECONDS = 60.0
# A service that starts, shows the URL it was given, and crashes.
CRASH = "import os, sys; print('dummy sees', os.environ['LEDGER_NATS_URL']); sys.exit(3)"
CRASHER = f'dummy={sys.executable} -c "{CRASH}"'


class Ledger:
    """A `ledger up` process whose output lines are collected for waiting on."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        clean = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ledger.cli", "up", *args], env={**clean, **(env or {})},
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        self.lines: list[str] = []
        self._changed = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def wait_for(self, pattern: str, *, count: int = 1, timeout: float = UP_SECONDS) -> re.Match[str]:
        """The `count`-th line matching `pattern`, waiting up to `timeout` seconds."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [m for m in map(regex.search, self.lines) if m]
                if len(found) >= count:
                    return found[count - 1]
                left = deadline - time.monotonic()
                if left <= 0 or (self.process.poll() is not None and not self._changed.wait(0.5)):
                    tail = "\n".join(self.lines[-40:])
                    code = self.process.poll()
                    pytest.fail(f"no {count}× line matching {pattern!r} (exit={code}):\n{tail}")
                self._changed.wait(left)

    def up(self) -> tuple[str, str]:
        self.wait_for(r"ledger is up")
        return self.wait_for(r"NATS URL: (\S+)")[1], self.wait_for(r"Postgres URL: (\S+)")[1]

    def signal(self, sig: int) -> int:
        self.process.send_signal(sig)
        return self.process.wait(STOP_SECONDS)


def descendants(root: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    found: set[int] = set()
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_all_gone(pids: set[int], timeout: float = STOP_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    while (left := {p for p in pids if alive(p)}) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not left, f"still alive: {left}"


@pytest.fixture
def ports() -> list[str]:
    return ["--nats-port", str(free_port()), "--postgres-port", str(free_port())]


@pytest.fixture
def running() -> Iterator[list[Ledger]]:
    """Every Ledger started in a test; killed at the end if the test left one running."""
    started: list[Ledger] = []
    yield started
    for ledger in started:
        if ledger.process.poll() is None:
            ledger.process.kill()
            ledger.process.wait()


def admin(data_dir: Path) -> dict[str, str]:
    """The embedded nats-server requires credentials: `ledger up` generated an admin identity."""
    return {"user": "admin", "password": json.loads((data_dir / "auth" / "secrets.json").read_text())["admin"]}


async def write_data(nats_url: str, database_url: str, creds: dict[str, str]) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("CREATE TABLE note (id int PRIMARY KEY, body text NOT NULL)")
        await conn.execute("INSERT INTO note VALUES (1, '规划许可')")
    finally:
        await conn.close()
    nc = await nats.connect(nats_url, **creds)
    try:
        js = nc.jetstream()
        await js.add_stream(name="RUNTIME_TEST", subjects=["runtime.test"])
        await js.publish("runtime.test", "用地预审".encode())
        assert (await js.stream_info("LEDGER_EVENTS")).config.name == "LEDGER_EVENTS"
    finally:
        await nc.drain()


async def read_data(nats_url: str, database_url: str, creds: dict[str, str]) -> tuple[str, bytes]:
    conn = await asyncpg.connect(database_url)
    try:
        body = await conn.fetchval("SELECT body FROM note WHERE id = 1")
    finally:
        await conn.close()
    nc = await nats.connect(nats_url, **creds)
    try:
        message = await nc.jetstream().get_msg("RUNTIME_TEST", 1)
    finally:
        await nc.drain()
    return body, message.data or b""


async def test_up_serves_nats_and_postgres_stops_on_sigint_and_keeps_data_across_restarts(
    tmp_path: Path, ports: list[str], running: list[Ledger]
) -> None:
    first = Ledger("--data-dir", str(tmp_path), *ports)
    running.append(first)
    nats_url, database_url = first.up()
    await write_data(nats_url, database_url, admin(tmp_path))
    children = descendants(first.process.pid)
    assert len(children) >= 2

    assert first.signal(signal.SIGINT) == 0
    wait_all_gone(children)
    assert any("[postgres]" in line and "smart shutdown" in line for line in first.lines)

    second = Ledger("--data-dir", str(tmp_path), *ports)
    running.append(second)
    nats_url, database_url = second.up()
    assert await read_data(nats_url, database_url, admin(tmp_path)) == ("规划许可", "用地预审".encode())
    children = descendants(second.process.pid)
    assert second.signal(signal.SIGTERM) == 0
    wait_all_gone(children)


def test_a_crashed_service_is_restarted_and_sigkill_of_the_supervisor_leaves_no_orphans(
    tmp_path: Path, ports: list[str], running: list[Ledger]
) -> None:
    ledger = Ledger("--data-dir", str(tmp_path), *ports, "--extra-service", CRASHER)
    running.append(ledger)
    nats_url, _ = ledger.up()
    ledger.wait_for(rf"\[dummy\] dummy sees {re.escape(nats_url)}")
    ledger.wait_for(r"dummy exited with code 3; restarting in 0\.5s")
    ledger.wait_for(r"dummy exited with code 3; restarting in 1\.0s")  # backoff grows
    ledger.wait_for(r"started dummy", count=3)
    children = descendants(ledger.process.pid)
    assert len(children) >= 2

    ledger.process.kill()
    ledger.process.wait(STOP_SECONDS)
    wait_all_gone(children)


def test_with_urls_set_it_uses_those_servers_and_starts_neither(
    tmp_path: Path, nats_url: str, database_url: str, running: list[Ledger]
) -> None:
    prefix = "t" + uuid.uuid4().hex[:10]
    env = ledger_env(nats_url, database_url, prefix)
    ledger = Ledger("--data-dir", str(tmp_path), env=env)
    running.append(ledger)
    assert ledger.up() == (nats_url, database_url)
    assert not any(re.search(r"started (nats|postgres)", line) for line in ledger.lines)
    assert ledger.signal(signal.SIGINT) == 0


def test_a_port_in_use_fails_with_a_message_naming_the_port_and_the_flag(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        ledger = Ledger("--data-dir", str(tmp_path), "--nats-port", str(port))
        assert ledger.process.wait(STOP_SECONDS) == 1
    assert ledger.process.stderr is not None
    error = ledger.process.stderr.read()
    assert f"port {port}" in error and "--nats-port" in error and "LEDGER_NATS_PORT" in error


def test_help_lists_the_subcommands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    assert "up" in capsys.readouterr().out


def test_a_malformed_flag_is_a_clear_error_not_a_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["up", "--extra-service", "no-equals-sign"]) == 1
    assert "expected NAME=COMMAND" in capsys.readouterr().err


class _StoppedDuringSpawn(Child):
    """A child whose restart meets a stop: stop() runs just before the new process exists."""

    stopper: asyncio.Task[None] | None = None

    async def _spawn(self) -> None:
        if self.starts == 1:  # the restart
            self.stopper = asyncio.create_task(self.stop())
            await self._stopping.wait()  # stop() has seen the dead child (it sets this before any await)
        await super()._spawn()


async def test_a_stop_that_comes_while_a_crashed_child_is_respawned_stops_the_new_child(tmp_path: Path) -> None:
    # stop() signalled the process it saw (the dead one) and waited for the watcher, which went on to
    # wait for the child it had just spawned: for ever.
    marker = tmp_path / "second"
    script = ("import pathlib, sys, time\n"
              f"m = pathlib.Path({str(marker)!r})\n"
              "if not m.exists():\n    m.touch(); sys.exit(1)\n"
              "time.sleep(600)\n")
    child = _StoppedDuringSpawn(ProcessSpec(name="flaky", argv=(sys.executable, "-c", script)), backoff=0.01)
    await child.start()

    async def stopper() -> asyncio.Task[None] | None:
        return child.stopper

    try:
        await within(await eventually(stopper, what="the restart"), 10.0)
        assert child.starts == 2 and not child.running
    finally:
        if child.running and child.pid is not None:
            os.killpg(child.pid, signal.SIGKILL)
