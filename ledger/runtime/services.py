"""The service registry: which `services.<name>` packages run, and with which command and env."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

import msgspec

import services

# Start order; anything else found in services/ starts after these, alphabetically.
PREFERRED_ORDER = ("projections", "stages", "notify", "intake")


class ServiceSpec(msgspec.Struct, frozen=True, kw_only=True):
    """One supervised service process: `argv` run with `env` added to the supervisor's own."""

    name: str
    argv: tuple[str, ...]
    env: Mapping[str, str] = msgspec.field(default_factory=dict)


def services_root() -> Path:
    return Path(next(iter(services.__path__)))


def discover(root: Path | None = None) -> list[str]:
    """Names of the service packages that can run: those with a `__main__.py`."""
    root = services_root() if root is None else root
    found = {p.parent.name for p in root.glob("*/__main__.py")}
    first = [name for name in PREFERRED_ORDER if name in found]
    return first + sorted(found - set(first))


def service_specs(env: Mapping[str, str], root: Path | None = None) -> list[ServiceSpec]:
    """`python -m services.<name>` for every runnable service, each with `env`."""
    return [
        ServiceSpec(name=name, argv=(sys.executable, "-m", f"services.{name}"), env=dict(env))
        for name in discover(root)
    ]
