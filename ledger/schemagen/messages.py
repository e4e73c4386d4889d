"""The published messages and one JSON Schema (draft 2020-12) per message, from the msgspec types."""

from __future__ import annotations

from typing import Any

import msgspec

from contracts.commands import COMMAND_TYPES, Submission
from contracts.envelope import Commit
from contracts.events import EVENT_TYPES
from contracts.receipts import Accepted, Receipt, Rejected

DIALECT = "https://json-schema.org/draft/2020-12/schema"
GENERATED_NOTE = "Generated from contracts/ by `python -m ledger.schemagen`; do not edit by hand."

MESSAGES: dict[str, Any] = {
    "Submission": Submission,
    "Receipt": Receipt,
    "Accepted": Accepted,
    "Rejected": Rejected,
    "Commit": Commit,
    **{event.__name__: event for event in EVENT_TYPES},
    **{command.__name__: command for command in COMMAND_TYPES},
}
"""Schema file stem → the type it describes (a Struct or a tagged union of Structs)."""


def json_schema(name: str) -> dict[str, Any]:
    """The self-contained JSON Schema of one message, definitions under `$defs`."""
    schema: dict[str, Any] = msgspec.json.schema(MESSAGES[name])
    return {"$schema": DIALECT, "$comment": GENERATED_NOTE, "title": name, **schema}


def components(ref_template: str) -> dict[str, Any]:
    """Schemas of every message and every struct they use, keyed by name, refs by `ref_template`."""
    names = list(MESSAGES)
    top, defs = msgspec.json.schema_components([MESSAGES[n] for n in names], ref_template=ref_template)
    schemas: dict[str, Any] = dict(defs)
    for name, schema in zip(names, top, strict=True):
        if "$ref" not in schema:  # a union has no definition of its own: give it one
            schemas[name] = {"title": name, **schema}
    return schemas
