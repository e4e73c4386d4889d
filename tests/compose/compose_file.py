"""compose.yaml as data: each service's image, command, environment, env files, mounts, replicas, health check."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "compose.yaml"


@dataclass(frozen=True)
class Mount:
    source: str  # a path relative to the project dir (bind) or a named volume
    target: str  # the absolute path inside the container
    bind: bool


@dataclass(frozen=True)
class Service:
    name: str
    image: str
    command: list[str]
    environment: dict[str, str]
    env_files: list[str]
    mounts: list[Mount]
    secrets: list[str]
    replicas: int
    expose: list[int]
    aliases: list[str]
    health: list[str]
    restart: str
    depends_on: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Compose:
    services: dict[str, Service]
    secrets: dict[str, str]  # name → file relative to the project dir

    def alias_target(self, host: str) -> str | None:
        """The service a host name reaches: a service name, or the first service with that alias."""
        if host in self.services:
            return host
        return next((s.name for s in self.services.values() if host in s.aliases), None)


def _mount(raw: str) -> Mount:
    source, target, *_ = raw.split(":")
    bind = source.startswith(("./", "/", "../"))
    return Mount(source=source.removeprefix("./"), target=target, bind=bind)


def _service(name: str, raw: dict[str, Any]) -> Service:
    networks = raw.get("networks") or {}
    aliases = [a for net in (networks.values() if isinstance(networks, dict) else []) for a in (net or {}).get(
        "aliases", [])]
    depends = raw.get("depends_on") or {}
    return Service(
        name=name,
        image=str(raw["image"]),
        command=[str(c) for c in raw.get("command", [])],
        environment={str(k): str(v) for k, v in (raw.get("environment") or {}).items()},
        env_files=[str(f).removeprefix("./") for f in raw.get("env_file", [])],
        mounts=[_mount(v) for v in raw.get("volumes", [])],
        secrets=[str(s) for s in raw.get("secrets", [])],
        replicas=int((raw.get("deploy") or {}).get("replicas", 1)),
        expose=[int(p) for p in raw.get("expose", [])],
        aliases=aliases,
        health=[str(t) for t in (raw.get("healthcheck") or {}).get("test", [])],
        restart=str(raw.get("restart", "no")),
        depends_on={str(k): str((v or {}).get("condition", "service_started")) for k, v in depends.items()},
    )


def load(path: Path = COMPOSE) -> Compose:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    services = {name: _service(name, body) for name, body in raw["services"].items()}
    secrets = {name: str(body["file"]).removeprefix("./") for name, body in (raw.get("secrets") or {}).items()}
    return Compose(services=services, secrets=secrets)


def env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines, as compose reads an env_file (comments and blank lines ignored)."""
    out: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            out[key.strip()] = value
    return out
