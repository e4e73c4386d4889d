"""Configuration read once at start-up into a frozen object; no os.environ anywhere else."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import msgspec

from contracts.subjects import Subjects


def redact(url: str) -> str:
    """The URL with its password replaced, for printing."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


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
    sources_file: Path | None = None
    # projections: the bureau's checkpoint signing key and how often checkpoints are signed
    signing_key_file: Path | None = None  # default: <data_dir>/keys/bureau-ed25519.pem
    checkpoint_every: int = 10_000  # log sequences between signed checkpoints
    checkpoint_minutes: int = 5  # …or minutes, whichever comes first
    projector_batch: int = 5000  # most commits per projection transaction
    # read API: bearer tokens with roles (TOML); default: <data_dir>/auth/api_tokens.toml
    api_tokens_file: Path | None = None
    api_host: str = "127.0.0.1"  # the address the read API listens on (0.0.0.0 in a container)
    # notify: alert routes (TOML), alert-level policy (TOML), secrets, dry run, its Postgres schema
    notify_config: Path | None = None  # none = keep the deadline view, send nothing
    notify_policy: Path | None = None  # default: services/notify/policy.toml
    notify_secrets_file: Path | None = None  # default: <data_dir>/notify-secrets.toml
    notify_dry_run: bool = False
    notify_schema: str = "notify"

    @property
    def notify_secrets_path(self) -> Path:
        return self.notify_secrets_file or self.data_dir / "notify-secrets.toml"

    @property
    def signing_key_path(self) -> Path:
        return self.signing_key_file or self.data_dir / "keys" / "bureau-ed25519.pem"

    @property
    def api_tokens_path(self) -> Path:
        return self.api_tokens_file or self.data_dir / "auth" / "api_tokens.toml"

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


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise ConfigError(f"Config '{name}' has value '{env[name]}'. Use 1/0, true/false, yes/no or on/off.")


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
        signing_key_file=Path(env["LEDGER_SIGNING_KEY_FILE"]) if env.get("LEDGER_SIGNING_KEY_FILE") else None,
        checkpoint_every=max(1, _int(env, "LEDGER_CHECKPOINT_EVERY", 10_000)),
        checkpoint_minutes=_int(env, "LEDGER_CHECKPOINT_MINUTES", 5),
        projector_batch=max(1, _int(env, "LEDGER_PROJECTOR_BATCH", 5000)),
        api_tokens_file=Path(env["LEDGER_API_TOKENS_FILE"]) if env.get("LEDGER_API_TOKENS_FILE") else None,
        api_host=env.get("LEDGER_API_HOST") or "127.0.0.1",
        sources_file=Path(env["LEDGER_SOURCES_FILE"]) if env.get("LEDGER_SOURCES_FILE") else None,
        notify_config=Path(env["LEDGER_NOTIFY_CONFIG"]) if env.get("LEDGER_NOTIFY_CONFIG") else None,
        notify_policy=Path(env["LEDGER_NOTIFY_POLICY"]) if env.get("LEDGER_NOTIFY_POLICY") else None,
        notify_secrets_file=(Path(env["LEDGER_NOTIFY_SECRETS_FILE"]) if env.get("LEDGER_NOTIFY_SECRETS_FILE")
                             else None),
        notify_dry_run=_flag(env, "LEDGER_NOTIFY_DRY_RUN"),
    )
