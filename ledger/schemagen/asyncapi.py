"""The AsyncAPI 3.0 document of the ledger's NATS interface, built by hand from the contracts.

FastStream cannot describe msgspec Structs (faststream#2101), so channels and operations are
written here and the payload schemas come from `msgspec.json.schema_components`. The document
describes the ledger as the application: it *receives* submissions and *sends* receipts and commits.
"""

from __future__ import annotations

import json
from typing import Any

from contracts.codec import canonical, encode_commit
from contracts.envelope import Commit
from contracts.subjects import HASH_HEADER, Subjects
from ledger.golden_examples import ACCEPTED, CALENDAR_COMMIT, COMMIT, REJECTED, SUBMISSIONS
from ledger.schemagen.messages import GENERATED_NOTE, components

_SCHEMAS = "#/components/schemas/{name}"
_TEMPLATE = Subjects(prefix="{prefix}")

_PARAMETERS = {
    "prefix": {"description": "Subject prefix of the installation.", "default": "ledger"},
    "source": {
        "description": "Id of the publishing system, e.g. `window`; your NATS user may only use its own.",
        "examples": ["window", "land", "permit", "registry"],
    },
    "projectId": {"description": "Project id, as chosen by the publisher that created the project."},
    "year": {"description": "Calendar year, e.g. 2026."},
}

_HEADERS = {
    "Commit": {
        "type": "object",
        "properties": {
            HASH_HEADER: {
                "type": "string",
                "pattern": "^[0-9a-f]{64}$",
                "description": "SHA-256 (hex) of exactly the message body; the next commit's prev_hash.",
            }
        },
    }
}


def _payload(value: object) -> Any:
    return json.loads(canonical(value))


def _commit_example(name: str, summary: str, commit: Commit) -> dict[str, Any]:
    return {"name": name, "summary": summary, "headers": {HASH_HEADER: encode_commit(commit)[1]},
            "payload": _payload(commit)}  # fmt: skip


def _examples() -> dict[str, list[dict[str, Any]]]:
    return {
        "Submission": [
            {"name": name, "summary": f"A submission carrying {name}.", "payload": _payload(submission)}
            for name, submission in SUBMISSIONS.items()
        ],
        "Receipt": [
            {"name": "accepted", "summary": "The events were appended.", "payload": _payload(ACCEPTED)},
            {"name": "rejected", "summary": "Nothing was appended.", "payload": _payload(REJECTED)},
        ],
        "Commit": [
            _commit_example("project", "A new project's first commit.", COMMIT),
            _commit_example("calendar", "The official working-day calendar of a year.", CALENDAR_COMMIT),
        ],
    }


_MESSAGES = {
    "Submission": ("One command about one project, with the publisher's idempotency key.", "Submission"),
    "Receipt": ("The outcome of one submission: accepted (status) or rejected with a code.", "Receipt"),
    "Commit": ("All events of one command, hash-chained per project (the event log's unit).", "Commit"),
}


def _messages() -> dict[str, Any]:
    examples = _examples()
    messages: dict[str, Any] = {}
    for name, (summary, schema) in _MESSAGES.items():
        message: dict[str, Any] = {
            "name": name,
            "title": name,
            "summary": summary,
            "contentType": "application/json",
            "payload": {"$ref": _SCHEMAS.format(name=schema)},
            "examples": examples[name],
        }
        if name in _HEADERS:
            message["headers"] = _HEADERS[name]
        messages[name] = message
    return messages


def _channel(address: str | None, description: str, message: str, *params: str) -> dict[str, Any]:
    channel: dict[str, Any] = {
        "address": address,
        "description": description,
        "messages": {message: {"$ref": f"#/components/messages/{message}"}},
    }
    if params:
        channel["parameters"] = {p: {"$ref": f"#/components/parameters/{p}"} for p in params}
    return channel


def _channels() -> dict[str, Any]:
    t = _TEMPLATE
    return {
        "submit": _channel(t.submit("{source}"), "Request/reply: send a Submission, get a Receipt as the reply.",
                           "Submission", "prefix", "source"),
        "submitReply": _channel(None, "The requester's reply inbox (set by the NATS client).", "Receipt"),
        "inbound": _channel(t.inbound("{source}"), "Fire-and-forget: a durable stream; the Receipt comes later "
                            "on the receipts channel.", "Submission", "prefix", "source"),
        "receipts": _channel(t.receipts("{source}"), "Receipts of the source's fire-and-forget submissions.",
                             "Receipt", "prefix", "source"),
        "project": _channel(t.project("{projectId}"), "The event log of one project (JetStream, immutable).",
                            "Commit", "prefix", "projectId"),
        "calendar": _channel(t.calendar("{year}"), "The event log of one year's working-day calendar.",  # type: ignore[arg-type]
                             "Commit", "prefix", "year"),
    }  # fmt: skip


def _operation(action: str, channel: str, message: str, summary: str) -> dict[str, Any]:
    return {
        "action": action,
        "summary": summary,
        "channel": {"$ref": f"#/channels/{channel}"},
        "messages": [{"$ref": f"#/channels/{channel}/messages/{message}"}],
    }


def _operations() -> dict[str, Any]:
    submit = _operation("receive", "submit", "Submission", "Accept a submission and answer with its receipt.")
    submit["reply"] = {
        "channel": {"$ref": "#/channels/submitReply"},
        "messages": [{"$ref": "#/channels/submitReply/messages/Receipt"}],
    }
    return {
        "submit": submit,
        "receiveInbound": _operation("receive", "inbound", "Submission", "Drain fire-and-forget submissions."),
        "sendReceipt": _operation("send", "receipts", "Receipt", "Publish the receipt of an inbound submission."),
        "appendProjectCommit": _operation("send", "project", "Commit", "Append a project's commit to the log."),
        "appendCalendarCommit": _operation("send", "calendar", "Commit", "Append a calendar commit to the log."),
    }


def _asyncapi_schemas() -> dict[str, Any]:
    """Component schemas; AsyncAPI's `discriminator` is the property name, not OpenAPI's object."""
    text = json.dumps(components(_SCHEMAS))
    schemas: dict[str, Any] = json.loads(text, object_hook=_flatten_discriminator)
    return schemas


def _flatten_discriminator(obj: dict[str, Any]) -> dict[str, Any]:
    found = obj.get("discriminator")
    if isinstance(found, dict) and "propertyName" in found:
        return {**obj, "discriminator": found["propertyName"]}
    return obj


def asyncapi_document() -> dict[str, Any]:
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Planning-bureau project ledger",
            "version": "1.0.0",
            "description": "How other government systems publish to the ledger and read its log. "
            "Publisher guide: contracts/README.md. " + GENERATED_NOTE,
        },
        "defaultContentType": "application/json",
        "servers": {
            "bureau": {
                "host": "{host}:{port}",
                "protocol": "nats",
                "description": "The bureau's NATS; the operator gives you the address and your credentials.",
                "variables": {"host": {"default": "localhost"}, "port": {"default": "4222"}},
                "security": [{"$ref": "#/components/securitySchemes/sourceUser"}],
            }
        },
        "channels": _channels(),
        "operations": _operations(),
        "components": {
            "schemas": _asyncapi_schemas(),
            "messages": _messages(),
            "parameters": _PARAMETERS,
            "securitySchemes": {
                "sourceUser": {
                    "type": "userPassword",
                    "description": "One NATS user per source system; it may publish only on its own subjects.",
                }
            },
        },
    }
