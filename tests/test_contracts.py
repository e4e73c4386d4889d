"""The published contract: schema files current, golden files pin the wire format, decoding rules."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import msgspec
import pytest
from jsonschema import Draft202012Validator

from contracts.codec import (
    canonical,
    decode_commit,
    decode_receipt,
    decode_submission,
    encode_commit,
    event_decoder,
    sha256_hex,
)
from contracts.commands import COMMAND_TYPES, Submission
from contracts.envelope import SCHEMA_VERSION, Commit
from contracts.events import Event
from contracts.receipts import ERROR_CODES, Accepted, Rejected
from ledger.golden_examples import ACCEPTED, COMMIT, COMMIT_HASH, GOLDEN
from ledger.schemagen import CONTRACTS_DIR, GOLDEN_DIR, REGENERATE, SCHEMA_DIR, golden_files, schema_files, stale
from ledger.schemagen.__main__ import main as schemagen_main
from ledger.schemagen.render import compact, golden_bytes

GOLDEN_NAMES = sorted(GOLDEN)


def golden_path(name: str) -> Path:
    return GOLDEN_DIR / f"{name}.v{SCHEMA_VERSION}.json"


def decode_as_contract(name: str, body: bytes) -> object:
    """Decode a golden file with the decoder the system uses for that kind of message."""
    expected = GOLDEN[name]
    if isinstance(expected, Submission):
        return decode_submission(body)
    if isinstance(expected, Accepted | Rejected):
        return decode_receipt(body)
    if isinstance(expected, Commit):
        return decode_commit(body)
    assert isinstance(expected, Event)
    return event_decoder.decode(body)


def schema_names(name: str) -> list[str]:
    """The schema files a golden instance must satisfy."""
    expected = GOLDEN[name]
    if isinstance(expected, Submission):
        return ["Submission"]
    if isinstance(expected, Accepted | Rejected):
        return ["Receipt", name]
    return [name]


def validator(schema_name: str) -> Draft202012Validator:
    schema = json.loads((SCHEMA_DIR / f"{schema_name}.json").read_bytes())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


# --- (a) generated files are current --------------------------------------------------------------


def test_schema_files_match_the_contracts() -> None:
    problems = stale(schema_files(), SCHEMA_DIR)
    assert not problems, "contracts/schema/ is stale:\n  " + "\n  ".join(problems) + f"\nRegenerate: {REGENERATE}"


def test_golden_files_exist_for_every_example_and_nothing_else() -> None:
    problems = stale(golden_files(), GOLDEN_DIR)
    assert not problems, (
        "contracts/golden/ differs from ledger/golden_examples.py:\n  "
        + "\n  ".join(problems)
        + "\nA changed wire format needs a new type or version; if the example itself changed, "
        + f"regenerate: {REGENERATE} --golden"
    )


def test_check_mode_passes_on_the_committed_files() -> None:
    assert schemagen_main(["--check", "--golden"]) == 0


def test_stale_lists_changed_missing_and_leftover_files(tmp_path: Path) -> None:
    (tmp_path / "changed.json").write_bytes(b"{}\n")
    (tmp_path / "leftover.json").write_bytes(b"{}\n")
    expected = {tmp_path / "changed.json": b"[]\n", tmp_path / "missing.json": b"[]\n"}
    problems = stale(expected, tmp_path)
    assert problems == [
        f"out of date: {tmp_path / 'changed.json'}",
        f"missing: {tmp_path / 'missing.json'}",
        f"not generated any more: {tmp_path / 'leftover.json'}",
    ]


def test_every_message_and_command_has_a_schema_file() -> None:
    names = {path.stem for path in SCHEMA_DIR.glob("*.json")}
    assert {"Submission", "Receipt", "Accepted", "Rejected", "Commit", "asyncapi"} <= names
    assert {command.__name__ for command in COMMAND_TYPES} <= names
    assert {name for name, value in GOLDEN.items() if isinstance(value, Event)} <= names


# --- (b) golden files pin the wire format ---------------------------------------------------------


@pytest.mark.parametrize("name", GOLDEN_NAMES)
def test_golden_file_decodes_to_the_example_and_reencodes_to_the_same_bytes(name: str) -> None:
    body = golden_path(name).read_bytes()
    decoded = decode_as_contract(name, body)
    file = golden_path(name).name
    assert decoded == GOLDEN[name], (
        f"{file} no longer decodes to the example: the wire format changed incompatibly "
        "(renamed field, changed type or tag). Old messages in the log would break; make it a new type "
        "or version instead."
    )
    assert golden_bytes(decoded) == body, (
        f"{file} still decodes, but re-encodes differently (a field was added or its encoding changed). "
        f"If that is intended and old messages stay valid, regenerate: {REGENERATE} --golden"
    )
    assert canonical(decoded) == compact(body)


def test_commit_hash_is_pinned_over_the_canonical_bytes() -> None:
    body = compact(golden_path("Commit").read_bytes())
    assert sha256_hex(body) == COMMIT_HASH == encode_commit(COMMIT)[1] == ACCEPTED.commit_hash


def test_there_is_a_golden_example_for_every_event_and_command() -> None:
    from contracts.events import EVENT_TYPES

    expected = {t.__name__ for t in EVENT_TYPES} | {t.__name__ for t in COMMAND_TYPES}
    assert expected | {"Accepted", "Rejected", "Commit"} == set(GOLDEN)


# --- (c) golden examples satisfy the generated JSON Schema ----------------------------------------


@pytest.mark.parametrize("name", GOLDEN_NAMES)
def test_golden_example_validates_against_its_schema(name: str) -> None:
    instance = json.loads(golden_path(name).read_bytes())
    for schema_name in schema_names(name):
        validator(schema_name).validate(instance)
    if isinstance(GOLDEN[name], Submission):
        validator(name).validate(instance["command"])


def test_schema_refuses_what_the_decoder_refuses() -> None:
    instance = json.loads(golden_path("OpenStage").read_bytes())
    instance["command"]["stage"] = 42
    errors = list(validator("Submission").iter_errors(instance))
    assert errors, "a Submission with an integer stage must not validate"


def asyncapi() -> dict[str, Any]:
    document: dict[str, Any] = json.loads((SCHEMA_DIR / "asyncapi.json").read_bytes())
    return document


def test_asyncapi_examples_validate_against_the_message_schemas() -> None:
    messages = asyncapi()["components"]["messages"]
    assert set(messages) == {"Submission", "Receipt", "Commit"}
    for name, message in messages.items():
        check = validator(message["payload"]["$ref"].rsplit("/", 1)[1])
        assert message["examples"], f"{name} has no example"
        for example in message["examples"]:
            check.validate(example["payload"])


def test_asyncapi_refs_all_resolve() -> None:
    document = asyncapi()
    refs = re.findall(r'"\$ref": "#/([^"]+)"', json.dumps(document))
    assert refs
    for ref in refs:
        node: Any = document
        for part in ref.split("/"):
            assert part in node, f"dangling $ref #/{ref}"
            node = node[part]


def test_asyncapi_channel_addresses_come_from_contracts_subjects() -> None:
    channels = asyncapi()["channels"]
    assert channels["submit"]["address"] == "{prefix}.intake.{source}.submit"
    assert channels["inbound"]["address"] == "{prefix}.inbound.{source}"
    assert channels["receipts"]["address"] == "{prefix}.receipts.{source}"
    assert channels["project"]["address"] == "{prefix}.project.{projectId}"
    assert channels["calendar"]["address"] == "{prefix}.calendar.{year}"


# --- (d) forward compatibility and (e) strict errors ----------------------------------------------


@pytest.mark.parametrize("name", [n for n in GOLDEN_NAMES if isinstance(GOLDEN[n], Event)])
def test_events_tolerate_fields_added_by_newer_producers(name: str) -> None:
    instance = json.loads(golden_path(name).read_bytes())
    instance["added_in_v2"] = {"anything": [1, "二"]}
    assert event_decoder.decode(json.dumps(instance).encode()) == GOLDEN[name]


def test_commits_tolerate_fields_added_by_newer_producers() -> None:
    instance = json.loads(golden_path("Commit").read_bytes())
    instance["signed_by"] = "future"
    instance["events"][0]["trace"] = "future"
    instance["events"][0]["event"]["priority"] = "high"
    assert decode_commit(json.dumps(instance).encode()) == COMMIT


def mutated_open_stage(**changes: Any) -> bytes:
    instance = json.loads(golden_path("OpenStage").read_bytes())
    for path, value in changes.items():
        *parents, leaf = path.split("__")
        node = instance
        for part in parents:
            node = node[part]
        if value is None:
            del node[leaf]
        else:
            node[leaf] = value
    return json.dumps(instance, ensure_ascii=False).encode()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"command__stage": 42}, "Expected `str`, got `int` - at `$.command.stage`"),
        ({"command__type": "OpenStages"}, "Invalid value 'OpenStages' - at `$.command.type`"),
        ({"idempotency_key": None}, "Object missing required field `idempotency_key`"),
        (
            {"project_id": "GZ.BY.1"},
            "Expected `str` matching regex '^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$' - at `$.project_id`",
        ),
        ({"occurred_at": "2026-03-02T09:15:00"}, "Expected `datetime` with a timezone component - at `$.occurred_at`"),
    ],
)
def test_strict_decoding_errors_name_the_field(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(msgspec.ValidationError) as error:
        decode_submission(mutated_open_stage(**changes))
    assert str(error.value) == message


# --- the publisher guide stays in step with the contracts -----------------------------------------


def test_publisher_guide_lists_every_error_code_and_command() -> None:
    guide = (CONTRACTS_DIR / "README.md").read_text()
    for code in ERROR_CODES:
        assert f"`{code}`" in guide, f"error code {code} is missing from contracts/README.md"
    for command in COMMAND_TYPES:
        assert f"`{command.__name__}`" in guide, f"command {command.__name__} is missing from contracts/README.md"


def test_publisher_guide_examples_are_valid_messages() -> None:
    guide = (CONTRACTS_DIR / "README.md").read_text()
    blocks = re.findall(r"```json\n(.*?)```", guide, flags=re.DOTALL)
    assert blocks
    for block in blocks:
        body = block.encode()
        kind = json.loads(body)
        if "status" in kind:
            decode_receipt(body)
        else:
            decode_submission(body)
