"""Deterministic bytes for generated files: sorted keys, two-space indent, UTF-8, final newline."""

from __future__ import annotations

import json

from contracts.codec import canonical


def dumps(document: object) -> bytes:
    """Stable pretty JSON of plain data (dicts, lists, strings, numbers)."""
    return (json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode()


def golden_bytes(message: object) -> bytes:
    """A golden file: the contract's canonical encoding of `message`, pretty-printed.

    Going through `canonical` (not `msgspec.to_builtins`) keeps the wire encoder in the loop, so
    a change of how a field is written (name, type, tag, date format) changes these bytes.
    """
    return dumps(json.loads(canonical(message)))


def compact(pretty: bytes) -> bytes:
    """The canonical wire form of a golden file: the same JSON, sorted keys, no whitespace."""
    return json.dumps(json.loads(pretty), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
