"""Supervise child processes: prefixed logs, restart with backoff, ordered stop, no orphans.

Every child runs in a session (and so a process group) of its own, for two reasons:
a terminal's Ctrl-C reaches only the supervisor, which then stops the children in order
(services, then Postgres, then nats) instead of all at once; and a stop signal goes to the
child's whole group, so whatever the child forked stops with it. A process group alone does
not help when the supervisor itself is SIGKILLed, so on Linux every child also asks the kernel
for SIGKILL when its parent dies (prctl PR_SET_PDEATHSIG), set after the uid switch so it
survives `user=`; both the JetStream store (fsync on every write) and Postgres (WAL) are safe
to kill.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import signal
import sys
import time
from collections.abc import Callable, Mapping

import msgspec

from ledger.waits import wait_set, within

_PR_SET_PDEATHSIG = 1
# (signal, seconds to wait for exit) tried in order; SIGKILL follows the last one.
DEFAULT_STOP = ((signal.SIGTERM, 10.0),)


class ProcessSpec(msgspec.Struct, frozen=True, kw_only=True):
    """A child process: `env` is added to the supervisor's environment."""

    name: str
    argv: tuple[str, ...]
    env: Mapping[str, str] = msgspec.field(default_factory=dict)
    user: str | None = None
    stop: tuple[tuple[int, float], ...] = DEFAULT_STOP


def emit(name: str, text: str) -> None:
    """One log line on stdout, prefixed with its source: `[nats] ...`."""
    sys.stdout.write(f"[{name}] {text}\n")
    sys.stdout.flush()


def _die_with_parent() -> Callable[[], None] | None:
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)  # resolved before fork: the child only calls it
    parent = os.getpid()

    def preexec() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os.kill(os.getpid(), signal.SIGKILL)

    return preexec


class Child:
    """One supervised process, restarted with exponential backoff when it exits on its own."""

    def __init__(self, spec: ProcessSpec, *, backoff: float = 0.5, max_backoff: float = 30.0,
                 stable_after: float = 30.0) -> None:
        self.spec = spec
        self.process: asyncio.subprocess.Process | None = None
        self.starts = 0
        self._backoff = (backoff, max_backoff, stable_after)
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._pump: asyncio.Task[None] | None = None

    @property
    def pid(self) -> int | None:
        return None if self.process is None else self.process.pid

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

    async def start(self) -> None:
        await self._spawn()
        self._task = asyncio.create_task(self._watch(), name=f"watch-{self.spec.name}")

    async def _spawn(self) -> None:
        env = {**os.environ, **self.spec.env, "PYTHONUNBUFFERED": "1"}
        self.process = await asyncio.create_subprocess_exec(
            *self.spec.argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT, env=env, user=self.spec.user, start_new_session=True,
            preexec_fn=_die_with_parent(), limit=1 << 20,
        )
        self.starts += 1
        emit("ledger", f"started {self.spec.name} (pid {self.process.pid})")
        self._pump = asyncio.create_task(self._copy_output(self.process), name=f"log-{self.spec.name}")

    async def _copy_output(self, process: asyncio.subprocess.Process) -> None:
        assert process.stdout is not None
        while line := await process.stdout.readline():
            emit(self.spec.name, line.decode("utf-8", "replace").rstrip("\r\n"))

    async def _watch(self) -> None:
        initial, maximum, stable_after = self._backoff
        delay = initial
        while True:
            assert self.process is not None
            started = time.monotonic()
            code = await self.process.wait()
            if self._stopping.is_set():
                return
            self._signal_group(signal.SIGKILL)  # leftovers of the dead child
            await self._drain_output()
            delay = initial if time.monotonic() - started >= stable_after else delay
            emit("ledger", f"{self.spec.name} exited with code {code}; restarting in {delay:.1f}s")
            if await wait_set(self._stopping, delay):
                return
            delay = min(delay * 2, maximum)
            try:
                await self._spawn()
            except OSError as exc:
                emit("ledger", f"cannot restart {self.spec.name}: {exc}")
                return
            if self._stopping.is_set():  # stop() came during the spawn and signalled the old process only
                self._signal_group(signal.SIGKILL)

    async def _drain_output(self) -> None:
        if self._pump is not None:
            try:
                await within(self._pump, 5.0)
            except TimeoutError:
                self._pump.cancel()

    def _signal_group(self, sig: int) -> None:
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, sig)  # the child leads its own group (start_new_session)
        except (ProcessLookupError, PermissionError):
            pass

    async def stop(self) -> None:
        """Signal the child's group with each stop signal in turn, then SIGKILL; no restart."""
        self._stopping.set()
        process = self.process
        if process is not None and process.returncode is None:
            for sig, timeout in self.spec.stop:
                self._signal_group(sig)
                try:
                    await within(process.wait(), timeout)
                    break
                except TimeoutError:
                    emit("ledger", f"{self.spec.name} still running {timeout:.0f}s after "
                                   f"{signal.Signals(sig).name}")
            else:
                self._signal_group(signal.SIGKILL)
                await process.wait()
        self._signal_group(signal.SIGKILL)
        if self._task is not None:  # first: a respawn it was making is killed, and its output read below
            await self._task
        await self._drain_output()
        if self.process is not None:  # the last process started, which a respawn may have replaced
            emit("ledger", f"stopped {self.spec.name} (exit code {self.process.returncode})")


class Supervisor:
    """Starts children in order and stops them in reverse order."""

    def __init__(self) -> None:
        self.children: list[Child] = []

    async def start(self, spec: ProcessSpec) -> Child:
        child = Child(spec)
        self.children.append(child)  # first, so that a cancelled start is still stopped
        await child.start()
        return child

    async def stop_all(self) -> None:
        while self.children:
            await self.children.pop().stop()
