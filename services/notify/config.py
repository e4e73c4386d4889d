"""Where alerts go: targets (robots, mailboxes, webhooks) and routes per department / key project / level.

Read once at start-up from a TOML file (see config/notify.example.toml). Secrets never live in it:
each target names its secret, looked up in the secrets file (`<data_dir>/notify-secrets.toml`).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from services.notify.levels import LEVELS

CHANNELS = ("wecom", "dingtalk", "feishu", "email", "webhook")
DEFAULT_RATE = {"wecom": 20, "dingtalk": 20, "feishu": 100}  # messages per minute per robot, as documented


class NotifyConfigError(ValueError):
    """The notify config is invalid; the message names the key and the bad value."""


@dataclass(frozen=True)
class Target:
    name: str
    channel: str
    url: str = ""
    secret: str = ""
    rate_per_minute: int = 0  # 0 = no limit
    mentions: tuple[str, ...] = ()  # mobiles (DingTalk) / user ids (WeCom) to @
    # email
    host: str = "127.0.0.1"
    port: int = 25
    sender: str = ""
    to: tuple[str, ...] = ()
    username: str = ""
    starttls: bool = False

    @property
    def recipient(self) -> str:
        return ", ".join(self.to) if self.channel == "email" else self.name


@dataclass(frozen=True)
class Route:
    departments: tuple[str, ...] = ("*",)
    levels: tuple[str, ...] = LEVELS
    kinds: tuple[str, ...] = ("stage", "blocker", "documents")
    key_projects_only: bool = False
    projects: tuple[str, ...] = ()
    targets: tuple[str, ...] = ()

    def matches(self, *, department: str, level: str, kind: str, project_id: str, key_project: bool) -> bool:
        return ((self.departments == ("*",) or department in self.departments) and level in self.levels
                and kind in self.kinds and (not self.key_projects_only or key_project)
                and (not self.projects or project_id in self.projects))


@dataclass(frozen=True)
class Transport:
    timeout_seconds: float = 5.0
    attempts: int = 4
    backoff_initial: float = 0.5
    backoff_max: float = 10.0
    breaker_failures: int = 5
    breaker_reset_seconds: float = 30.0
    lease_seconds: float = 300.0
    concurrency: int = 64
    max_pending: int = 1000  # claimed alerts waiting in one replica's delivery queues before claiming pauses


@dataclass(frozen=True)
class NotifyConfig:
    targets: dict[str, Target] = field(default_factory=dict)
    routes: tuple[Route, ...] = ()
    transport: Transport = Transport()
    dry_run: bool = False

    def targets_for(self, *, department: str, level: str, kind: str, project_id: str,
                    key_project: bool) -> list[Target]:
        names: dict[str, None] = {}
        for route in self.routes:
            if route.matches(department=department, level=level, kind=kind, project_id=project_id,
                             key_project=key_project):
                names.update(dict.fromkeys(route.targets))
        return [self.targets[n] for n in names]


def _strs(where: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise NotifyConfigError(f"notify config key '{where}' has value {value!r}: expected a list of strings")
    return tuple(value)


def _target(name: str, raw: dict[str, Any], secrets: dict[str, str]) -> Target:
    channel = raw.get("channel")
    if channel not in CHANNELS:
        raise NotifyConfigError(f"notify config key 'targets.{name}.channel' has value {channel!r}: "
                                f"expected one of {', '.join(CHANNELS)}")
    known = set(Target.__dataclass_fields__) - {"name", "secret"} | {"secret_name"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise NotifyConfigError(f"notify config: unknown key 'targets.{name}.{unknown[0]}'")
    secret_name = raw.get("secret_name", "")
    if secret_name and secret_name not in secrets:
        raise NotifyConfigError(f"notify config key 'targets.{name}.secret_name' has value {secret_name!r}, "
                                "which is not in the secrets file")
    if channel != "email" and not str(raw.get("url", "")).startswith(("http://", "https://")):
        raise NotifyConfigError(f"notify config key 'targets.{name}.url' has value {raw.get('url')!r}: "
                                "expected an http(s) URL")
    rate = raw.get("rate_per_minute", DEFAULT_RATE.get(channel, 0))
    if not isinstance(rate, int) or rate < 0:
        raise NotifyConfigError(f"notify config key 'targets.{name}.rate_per_minute' has value {rate!r}")
    return Target(name=name, channel=channel, url=str(raw.get("url", "")), secret=secrets.get(secret_name, ""),
                  rate_per_minute=rate, mentions=_strs(f"targets.{name}.mentions", raw.get("mentions", [])),
                  host=str(raw.get("host", "127.0.0.1")), port=int(raw.get("port", 25)),
                  sender=str(raw.get("sender", "")), to=_strs(f"targets.{name}.to", raw.get("to", [])),
                  username=str(raw.get("username", "")), starttls=bool(raw.get("starttls", False)))


def parse_config(raw: dict[str, Any], secrets: dict[str, str] | None = None) -> NotifyConfig:
    secrets = secrets or {}
    targets = {name: _target(name, t, secrets) for name, t in raw.get("targets", {}).items()}
    routes: list[Route] = []
    for n, r in enumerate(raw.get("routes", [])):
        where = f"routes[{n}]"
        names = _strs(f"{where}.targets", r.get("targets", []))
        for t in names:
            if t not in targets:
                raise NotifyConfigError(f"notify config key '{where}.targets' names {t!r}, which is not a target")
        levels = _strs(f"{where}.levels", r.get("levels", list(LEVELS)))
        for level in levels:
            if level not in LEVELS:
                raise NotifyConfigError(f"notify config key '{where}.levels' has value {level!r}: "
                                        f"expected one of {', '.join(LEVELS)}")
        routes.append(Route(departments=_strs(f"{where}.departments", r.get("departments", ["*"])), levels=levels,
                            kinds=_strs(f"{where}.kinds", r.get("kinds", ["stage", "blocker", "documents"])),
                            key_projects_only=bool(r.get("key_projects_only", False)),
                            projects=_strs(f"{where}.projects", r.get("projects", [])), targets=names))
    t = raw.get("transport", {})
    try:
        transport = Transport(**t)
    except TypeError as err:
        raise NotifyConfigError(f"notify config table 'transport': {err}") from None
    return NotifyConfig(targets=targets, routes=tuple(routes), transport=transport,
                        dry_run=bool(raw.get("dry_run", False)))


def load_config(path: Path | None, secrets_path: Path | None = None) -> NotifyConfig:
    """The config file (none = no routes: the view is kept, nothing is sent) and its secrets."""
    secrets: dict[str, str] = {}
    if secrets_path is not None and secrets_path.exists():
        secrets = {k: str(v) for k, v in tomllib.loads(secrets_path.read_text(encoding="utf-8")).items()}
    if path is None:
        return NotifyConfig()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise NotifyConfigError(f"{path}: not valid TOML: {err}") from None
    return parse_config(raw, secrets)
