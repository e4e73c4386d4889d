"""What each generated file should contain, and which committed files differ from that."""

from __future__ import annotations

from pathlib import Path

import contracts
from contracts.envelope import SCHEMA_VERSION
from ledger.golden_examples import GOLDEN
from ledger.schemagen.asyncapi import asyncapi_document
from ledger.schemagen.messages import MESSAGES, json_schema
from ledger.schemagen.render import dumps, golden_bytes

CONTRACTS_DIR = Path(contracts.__file__).resolve().parent
SCHEMA_DIR = CONTRACTS_DIR / "schema"
GOLDEN_DIR = CONTRACTS_DIR / "golden"


def schema_files() -> dict[Path, bytes]:
    """Every file of `contracts/schema/` and its exact bytes."""
    files = {SCHEMA_DIR / f"{name}.json": dumps(json_schema(name)) for name in MESSAGES}
    files[SCHEMA_DIR / "asyncapi.json"] = dumps(asyncapi_document())
    return files


def golden_files() -> dict[Path, bytes]:
    """Every file of `contracts/golden/` and its exact bytes."""
    return {GOLDEN_DIR / f"{name}.v{SCHEMA_VERSION}.json": golden_bytes(value) for name, value in GOLDEN.items()}


def shown(path: Path) -> str:
    """A path as the developer knows it: relative to the repository when it is inside it."""
    return str(path.relative_to(CONTRACTS_DIR.parent)) if path.is_relative_to(CONTRACTS_DIR.parent) else str(path)


def stale(expected: dict[Path, bytes], directory: Path) -> list[str]:
    """Files of `directory` that are missing, different, or no longer generated (as readable lines)."""
    problems = [
        f"{'missing' if not path.exists() else 'out of date'}: {shown(path)}"
        for path, content in sorted(expected.items())
        if not path.exists() or path.read_bytes() != content
    ]
    problems += [
        f"not generated any more: {shown(path)}" for path in sorted(directory.glob("*.json")) if path not in expected
    ]
    return problems


def write(expected: dict[Path, bytes], directory: Path) -> list[Path]:
    """Bring `directory` to exactly `expected`; returns the paths that changed."""
    directory.mkdir(parents=True, exist_ok=True)
    changed = []
    for path, content in sorted(expected.items()):
        if not path.exists() or path.read_bytes() != content:
            path.write_bytes(content)
            changed.append(path)
    for path in sorted(directory.glob("*.json")):
        if path not in expected:
            path.unlink()
            changed.append(path)
    return changed
