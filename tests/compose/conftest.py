"""One compose topology for the package: deployment secrets made by the operator's own commands, then started."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ledger.runtime.ports import free_port
from tests.compose.compose_file import load
from tests.compose.receiver import Hook
from tests.compose.topology import Topology

SOURCES = {"window": "window-compose-secret", "landsys": "landsys-compose-secret"}


def make_secrets(folder: Path, hook: Hook | None = None) -> None:
    """What docs/operations.md tells the operator to do: write sources.toml, run `ledger provision auth`."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sources.toml").write_text(
        "".join(f'[sources.{sid}]\nname = "{sid}"\npassword = "{pw}"\n\n' for sid, pw in SOURCES.items()))
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    done = subprocess.run([sys.executable, "-m", "ledger.cli", "provision", "auth", str(folder)], env=env,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    if hook is not None:  # the operator's alert routes: every alert to the test's webhook receiver
        routes, secrets = hook.config()
        (folder / "notify.toml").write_text(routes)
        (folder / "notify-secrets.toml").write_text(secrets)


# Package scope, not session: the topology's dozen processes would otherwise keep polling (and taking
# CPU from) every test that runs after this package.
@pytest.fixture(scope="package")
async def hook() -> AsyncIterator[Hook]:
    receiver = Hook(free_port())
    await receiver.start()
    yield receiver
    await receiver.stop()


@pytest.fixture(scope="package")
async def topology(tmp_path_factory: pytest.TempPathFactory, hook: Hook) -> AsyncIterator[Topology]:
    work = tmp_path_factory.mktemp("compose")
    topo = Topology(load(), work)
    make_secrets(topo.secrets_dir, hook)
    try:
        await topo.start()
        yield topo
    finally:
        await topo.stop()
