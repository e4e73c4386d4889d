"""One compose topology for the package: deployment secrets made by the operator's own commands, then started."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.compose.compose_file import load
from tests.compose.topology import Topology

SOURCES = {"window": "window-compose-secret", "landsys": "landsys-compose-secret"}


def make_secrets(folder: Path) -> None:
    """What docs/operations.md tells the operator to do: write sources.toml, run `ledger provision auth`."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sources.toml").write_text(
        "".join(f'[sources.{sid}]\nname = "{sid}"\npassword = "{pw}"\n\n' for sid, pw in SOURCES.items()))
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    done = subprocess.run([sys.executable, "-m", "ledger.cli", "provision", "auth", str(folder)], env=env,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="session")
async def topology(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Topology]:
    work = tmp_path_factory.mktemp("compose")
    topo = Topology(load(), work)
    make_secrets(topo.secrets_dir)
    try:
        await topo.start()
        yield topo
    finally:
        await topo.stop()
