"""Spec: the bureau's policy file: the shipped defaults, and errors that name the key and value."""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from services.stages.policy import DEFAULT_POLICY_PATH, PolicyError, load_policy, parse_policy_text

DEFAULT = DEFAULT_POLICY_PATH.read_text(encoding="utf-8")


def test_the_default_policy_has_the_limits_of_seed_003() -> None:
    p = load_policy()
    limits = {code: (s.statutory_days, s.committed_days) for code, s in p.stages.items()}
    assert limits["site_selection"] == (30, 4)
    assert limits["land_supply"] == (30, 4)
    assert limits["planning_permit"] == (30, 6)
    assert limits["rural_permit"] == (20, 6)
    assert limits["planning_conditions"] == (0, 0)
    assert p.documents[p.stages["land_supply"].produces or ""].name_zh == "建设用地规划许可证"


def test_the_default_policy_orders_the_new_track_as_in_seed_001() -> None:
    p = load_policy()
    assert p.first_stages("new") == ("site_selection",)
    assert p.first_stages("new", "rural") == ("rural_permit",)
    assert p.first_stages("continuing") == ("land_guarantee",)
    assert p.stages["land_use_approval"].requires == ("site_selection",)
    assert p.stages["land_supply"].requires == ("land_use_approval", "planning_conditions")
    assert p.stages["land_supply"].opens_after == ("site_selection",)
    assert p.stages["rights_registration"].requires == ("planning_permit",)
    assert p.issued_with("land_supply") == ("land_supply",)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("committed_days = 4\nproduces = \"site_selection_opinion\"",
         "committed_days = 40\nproduces = \"site_selection_opinion\"",
         "'stages.site_selection.committed_days' has value 40: the committed limit exceeds the statutory"),
        ("committed_days = 6\nproduces = \"rural_planning_permit\"",
         "committed_days = \"six\"\nproduces = \"rural_planning_permit\"",
         "'stages.rural_permit.committed_days' has value 'six': expected int"),
        ('name_zh = "预审选址"', 'name_zh = "预审选址"\ncolour = "red"', "unknown key 'stages.site_selection.colour'"),
        ('requires = ["planning_permit"]', 'requires = ["demolition"]',
         "'stages.rights_registration.requires' names unknown stage 'demolition'"),
        ('tracks = ["new"]\nrequires = []\nstatutory_days = 30',
         'tracks = ["new"]\nrequires = ["rights_registration"]\nstatutory_days = 30',
         "'requires' forms a cycle"),
        ('first_stages = ["land_guarantee"]', 'first_stages = ["site_selection"]',
         "'tracks.continuing.first_stages' has value ['site_selection']: stage 'site_selection' is not a stage"),
        ('department = "规划选址科"', 'department = " "', "'stages.site_selection.department'"),
        ("due_days = 5", "due_days = -1", "'documents.due_days' has value -1"),
        ('produces = "real_estate_certificate"', 'produces = "deed"', "'stages.rights_registration.produces'"),
        ("[tracks.continuing]", "[tracks.urgent]\nfirst_stages = []\n[tracks.continuing]",
         "'tracks.urgent' has value"),
    ],
    ids=["committed over statutory", "wrong type", "unknown key", "unknown reference", "cycle",
         "first stage of another track", "blank department", "negative days", "unknown document",
         "unknown track"],
)
def test_an_invalid_policy_names_the_key_and_the_value(old: str, new: str, message: str) -> None:
    assert old in DEFAULT
    with pytest.raises(PolicyError) as info:
        parse_policy_text(DEFAULT.replace(old, new, 1), source="policy.toml")
    assert message in str(info.value)
    assert str(info.value).startswith("policy.toml: ")


def test_a_missing_or_broken_file_is_reported_with_its_path(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot read policy file"):
        load_policy(tmp_path / "absent.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("version = ", encoding="utf-8")
    with pytest.raises(PolicyError, match="is not valid TOML"):
        load_policy(broken)


def toml_text(table: Mapping[str, Any], path: tuple[str, ...] = ()) -> str:
    """`table` as a TOML document: each table under a [header] of its own, its keys' values written inline.
    Enough for the policy's values (strings, integers, booleans, arrays and inline tables of these);
    test_the_policy_writer_keeps_the_default_policy checks it."""
    lines = [f"[{'.'.join(_toml_key(k) for k in path)}]"] if path else []
    lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in table.items() if not isinstance(v, dict)]
    tables = [toml_text(v, (*path, k)) for k, v in table.items() if isinstance(v, dict)]
    return "\n\n".join(["\n".join(lines), *tables]) if lines else "\n\n".join(tables)


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key, ensure_ascii=False)


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"no TOML writer for {value!r}")


def test_the_policy_writer_keeps_the_default_policy() -> None:
    raw = tomllib.loads(DEFAULT)
    assert tomllib.loads(toml_text(raw)) == raw
    assert parse_policy_text(toml_text(raw)) == load_policy()


@pytest.mark.parametrize("track", ["new", "continuing"])
def test_a_policy_without_one_of_the_tracks_is_refused_at_load_naming_the_track(track: str, tmp_path: Path) -> None:
    raw = tomllib.loads(DEFAULT)
    del raw["tracks"][track]  # the default policy, all of it but this track's table
    without = toml_text(raw)
    assert f"tracks.{track}" not in without
    path = tmp_path / "policy.toml"
    path.write_text(without, encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    assert str(info.value) == (f"{path}: 'tracks.{track}' is missing: every track (new, continuing) "
                               "needs its first_stages")
