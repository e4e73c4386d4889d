"""The bureau's alert levels (yellow, red, overdue, escalation) and their loader from policy.toml."""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_POLICY_PATH = Path(__file__).with_name("policy.toml")
_MAX_DAYS = 3650


class PolicyError(ValueError):
    """The policy file is invalid; the message names the key and the bad value."""


@dataclass(frozen=True)
class AlertPolicy:
    version: str = "default"
    yellow_days_before: int = 2
    yellow_share: float = 0.75
    overdue_after_days: int = 1
    escalate_after_days: int = 3
    fire_time: dt.time = dt.time(9, 0)


def _days(raw: dict[str, Any], key: str, default: int, *, minimum: int = 0) -> int:
    value = raw.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or not minimum <= value <= _MAX_DAYS:
        raise PolicyError(f"policy key '{key}' has value {value!r}: expected working days {minimum}..{_MAX_DAYS}")
    return value


def parse_policy(raw: dict[str, Any], where: str = "policy") -> AlertPolicy:
    known = {"version", "yellow_days_before", "yellow_share", "overdue_after_days", "escalate_after_days",
             "fire_time"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise PolicyError(f"{where}: unknown key '{unknown[0]}' (known: {', '.join(sorted(known))})")
    share = raw.get("yellow_share", 0.75)
    if isinstance(share, bool) or not isinstance(share, int | float) or not 0 <= share < 1:
        raise PolicyError(f"policy key 'yellow_share' has value {share!r}: expected a share 0 <= x < 1 (0 = off)")
    fire = raw.get("fire_time", "09:00")
    try:
        fire_time = dt.time.fromisoformat(fire) if isinstance(fire, str) else None
    except ValueError:
        fire_time = None
    if fire_time is None:
        raise PolicyError(f"policy key 'fire_time' has value {fire!r}: expected a local time like \"09:00\"")
    version = raw.get("version", "default")
    if not isinstance(version, str) or not version:
        raise PolicyError(f"policy key 'version' has value {version!r}: expected a non-empty string")
    return AlertPolicy(
        version=version,
        yellow_days_before=_days(raw, "yellow_days_before", 2),
        yellow_share=float(share),
        overdue_after_days=_days(raw, "overdue_after_days", 1, minimum=1),
        escalate_after_days=_days(raw, "escalate_after_days", 3, minimum=1),
        fire_time=fire_time,
    )


def load_policy(path: Path | None = None) -> AlertPolicy:
    path = path or DEFAULT_POLICY_PATH
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise PolicyError(f"{path}: not valid TOML: {err}") from None
    return parse_policy(raw, str(path))
