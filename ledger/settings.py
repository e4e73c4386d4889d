"""Configuration read once at start-up into a frozen object; no os.environ anywhere else."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import msgspec

from contracts.subjects import Subjects


class ConfigError(ValueError):
    """A setting has a value we cannot use; the message names the setting and the value."""


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    nats_url: str | None = None
    database_url: str | None = None
    data_dir: Path = Path("var")
    prefix: str = "ledger"
    nats_port: int = 4222
    postgres_port: int = 5432
    api_port: int = 8080
    replicas: int = 1
    nats_user: str | None = None
    nats_password: str | None = None

    @property
    def subjects(self) -> Subjects:
        return Subjects(prefix=self.prefix)


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"Config '{name}' has value '{raw}'. Not a valid int.") from None
    if value < 0:
        raise ConfigError(f"Config '{name}' has value '{raw}'. Must not be negative.")
    return value


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read LEDGER_* variables (see README's configuration table)."""
    env = os.environ if env is None else env
    prefix = env.get("LEDGER_PREFIX", "ledger")
    if not prefix.replace("_", "").isalnum() or not prefix.islower():
        raise ConfigError(f"Config 'LEDGER_PREFIX' has value '{prefix}'. Use lower-case letters, digits, '_'.")
    replicas = _int(env, "LEDGER_STREAM_REPLICAS", 1)
    if replicas not in (1, 3, 5):
        raise ConfigError(f"Config 'LEDGER_STREAM_REPLICAS' has value '{replicas}'. Must be 1, 3 or 5.")
    return Settings(
        nats_url=env.get("LEDGER_NATS_URL") or None,
        database_url=env.get("LEDGER_DATABASE_URL") or None,
        data_dir=Path(env.get("LEDGER_DATA_DIR") or "var"),
        prefix=prefix,
        nats_port=_int(env, "LEDGER_NATS_PORT", 4222),
        postgres_port=_int(env, "LEDGER_POSTGRES_PORT", 5432),
        api_port=_int(env, "LEDGER_API_PORT", 8080),
        replicas=replicas,
        nats_user=env.get("LEDGER_NATS_USER") or None,
        nats_password=env.get("LEDGER_NATS_PASSWORD") or None,
    )
