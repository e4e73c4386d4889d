"""Who may connect to NATS and what each identity may do: sources, services, admin.

The operator edits a sources file (TOML, see config/sources.example.toml): one table per
publishing system with its display name, its password (or a bcrypt hash made with
`nats server passwd`) and optionally the commands it may send. From it and the service
passwords this module renders the nats-server `authorization` block:

- a source may publish only on its own submit and inbound subjects, subscribe only to its own
  receipts and its own reply inbox (`_INBOX.<source>.>`: it connects with that inbox prefix),
  and read its receipts through one durable consumer named after itself;
- a service may use the JetStream API but never STREAM.DELETE/PURGE/UPDATE or MSG.DELETE, and
  creates no stream but its own (intake: inbound, rejected, receipts); the one exception is that
  intake purges its inbound stream below its consumer's ack floor (services/intake/inbound.py):
  no power beyond its acks, which removed each message from the work-queue stream it replaces;
- the read API only reads: JetStream account info (its health check), the rejected stream's info
  and direct gets (operators' rejected-submissions view), replies on its own inbox
  (`_INBOX.api.>`); it may not publish to any stream, create consumers or touch the log;
- only `admin` may do everything (it provisions the event-log stream).
"""

from __future__ import annotations

import json
import secrets
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path

import msgspec

from contracts.subjects import Subjects
from ledger.runtime.services import ServiceSpec
from ledger.settings import Settings

SERVICES = ("intake", "stages", "projections", "notify", "api")
ADMIN = "admin"

# Subjects a service must never publish to: they would drop history or change the streams.
FORBIDDEN_API = [
    "$JS.API.STREAM.DELETE.>",
    "$JS.API.STREAM.PURGE.>",
    "$JS.API.STREAM.UPDATE.>",
    "$JS.API.STREAM.MSG.DELETE.>",
    "$JS.API.STREAM.SNAPSHOT.>",
    "$JS.API.STREAM.RESTORE.>",
]
# JetStream use without stream management: info, direct get, consumers, acks, flow control.
JS_CLIENT = [
    "$JS.API.INFO",
    "$JS.API.STREAM.INFO.*",
    "$JS.API.STREAM.NAMES",
    "$JS.API.STREAM.LIST",
    "$JS.API.STREAM.MSG.GET.*",
    "$JS.API.DIRECT.GET.>",
    "$JS.API.CONSUMER.>",
    "$JS.ACK.>",
    "$JS.FC.>",
    "_INBOX.>",
]


class Source(msgspec.Struct, frozen=True, kw_only=True):
    """One publishing system. `commands` empty = every command of the contract."""

    id: str
    name: str
    password: str
    commands: tuple[str, ...] = ()


def inbox_prefix(source: str) -> str:
    """The reply-inbox prefix a source must connect with (its only subscribable inboxes)."""
    return f"_INBOX.{source}"


def load_sources(path: Path) -> dict[str, Source]:
    """Read the operator's sources file; errors name the file, the source and the problem."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"sources file '{path}': {exc}") from None
    table = raw.get("sources", {})
    if not isinstance(table, dict):
        raise ValueError(f"sources file '{path}': [sources] must be a table")
    out: dict[str, Source] = {}
    for sid, entry in table.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("password"), str) or not entry["password"]:
            raise ValueError(f"sources file '{path}': source '{sid}' needs a non-empty password")
        if sid in SERVICES or sid == ADMIN or not sid.replace("_", "").replace("-", "").isalnum() or not sid.islower():
            raise ValueError(f"sources file '{path}': '{sid}' is not a usable source id (lower-case a-z0-9_-)")
        commands = entry.get("commands", [])
        if not isinstance(commands, list) or not all(isinstance(c, str) for c in commands):
            raise ValueError(f"sources file '{path}': source '{sid}': commands must be a list of command names")
        out[sid] = Source(
            id=sid, name=str(entry.get("name", sid)), password=entry["password"], commands=tuple(commands)
        )
    return out


def source_permissions(subjects: Subjects, source: str) -> dict[str, object]:
    receipts = subjects.receipts_stream
    return {
        "publish": {
            "allow": [
                subjects.submit(source),
                subjects.inbound(source),
                f"$JS.API.CONSUMER.CREATE.{receipts}.{source}.{subjects.receipts(source)}",
                f"$JS.API.CONSUMER.INFO.{receipts}.{source}",
                f"$JS.API.CONSUMER.MSG.NEXT.{receipts}.{source}",
                f"$JS.ACK.{receipts}.{source}.>",
            ]
        },
        "subscribe": {"allow": [subjects.receipts(source), f"{inbox_prefix(source)}.>"]},
    }


def service_permissions(subjects: Subjects, service: str) -> dict[str, object]:
    p = subjects.prefix
    own: dict[str, tuple[list[str], list[str]]] = {  # service → (publish, subscribe) beyond JS_CLIENT
        "intake": (
            [f"{p}.project.*", f"{p}.receipts.*", f"{p}.rejected.*", subjects.stages_commands]
            + [f"$JS.API.STREAM.CREATE.{s}" for s in intake_streams(subjects)],
            [subjects.submit("*")],
        ),
        "stages": ([f"{p}.project.*", f"{p}.calendar.*"], [subjects.stages_commands, f"{p}.calendar.*"]),
        "projections": ([], []),
        "notify": ([f"{p}.project.*"], []),
    }
    if service == "api":
        return api_permissions(subjects)
    publish, subscribe = own[service]
    deny = FORBIDDEN_API
    if service == "intake":  # its inbound stream only (see the module's doc); every other purge stays denied
        publish = [*publish, f"$JS.API.STREAM.PURGE.{subjects.inbound_stream}"]
        others = [subjects.events_stream, *intake_streams(subjects)]  # denied by name too: belt and braces
        deny = [d for d in FORBIDDEN_API if d != "$JS.API.STREAM.PURGE.>"] + [
            f"$JS.API.STREAM.PURGE.{s}" for s in others if s != subjects.inbound_stream]
    return {
        "publish": {"allow": JS_CLIENT + publish, "deny": deny},
        "subscribe": {"allow": ["_INBOX.>", *subscribe]},
    }


def api_permissions(subjects: Subjects) -> dict[str, object]:
    """Read-only, and only what services/api and its health check call (nothing of JS_CLIENT's rest)."""
    rejected = subjects.rejected_stream
    return {
        "publish": {"allow": ["$JS.API.INFO", f"$JS.API.STREAM.INFO.{rejected}", f"$JS.API.DIRECT.GET.{rejected}"]},
        "subscribe": {"allow": [f"{inbox_prefix('api')}.>"]},
    }


def _union(perms: list[dict[str, object]]) -> dict[str, object]:
    out: dict[str, dict[str, list[str]]] = {}
    for perm in perms:
        for direction, rules in perm.items():
            assert isinstance(rules, dict)
            for kind, subjects in rules.items():
                have = out.setdefault(direction, {}).setdefault(kind, [])
                have.extend(s for s in subjects if s not in have)
    return dict(out)


def intake_streams(subjects: Subjects) -> list[str]:
    return [subjects.inbound_stream, subjects.rejected_stream, subjects.receipts_stream]


def render_authorization(
    prefixes: Sequence[Subjects], sources: Mapping[str, Source], passwords: Mapping[str, str]
) -> str:
    """The `authorization { users = [...] }` block; `passwords` holds every service and admin.

    Usually one prefix; several (tests) give each identity the union of its rights under each.
    """
    users: list[dict[str, object]] = [{"user": ADMIN, "password": passwords[ADMIN]}]
    users += [
        {"user": name, "password": passwords[name],
         "permissions": _union([service_permissions(s, name) for s in prefixes])}
        for name in SERVICES
    ]
    users += [
        {"user": src.id, "password": src.password,
         "permissions": _union([source_permissions(s, src.id) for s in prefixes])}
        for src in sources.values()
    ]
    return "authorization " + json.dumps({"users": users}, ensure_ascii=False, indent=1)


def ensure_secrets(folder: Path) -> dict[str, str]:
    """Service and admin passwords, generated once into `folder/secrets.json` (mode 0600)."""
    path = folder / "secrets.json"
    if path.exists():
        stored = json.loads(path.read_text())
        if all(name in stored for name in (*SERVICES, ADMIN)):
            return {str(k): str(v) for k, v in stored.items()}
    folder.mkdir(parents=True, exist_ok=True)
    made = {name: secrets.token_urlsafe(24) for name in (*SERVICES, ADMIN)}
    path.touch(mode=0o600)
    path.write_text(json.dumps(made, indent=1))
    return made


DEMO_SOURCES = {
    "window": ("政务服务大厅窗口 (service-hall window)", ()),
    "landsys": ("用地审批系统 (land-approval system)", ()),
    "permits": ("规划许可系统 (planning-permit system)", ()),
    "registry": ("不动产登记系统 (real-estate registry)", ("SupplyDocuments", "PassStage")),
}


def ensure_demo_sources(path: Path) -> Path:
    """Write a demo sources file with random passwords unless the operator already has one."""
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["# Demo publishing systems generated by `ledger up`; edit freely (passwords are secrets).", ""]
    for sid, (name, commands) in DEMO_SOURCES.items():
        lines += [f"[sources.{sid}]", f"name = {json.dumps(name, ensure_ascii=False)}"]
        lines.append(f'password = "{secrets.token_urlsafe(18)}"')
        if commands:
            lines.append(f"commands = {json.dumps(list(commands))}")
        lines.append("")
    path.touch(mode=0o600)
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def identity_env(env: Mapping[str, str], user: str, passwords: Mapping[str, str] | None) -> dict[str, str]:
    """`env` plus LEDGER_NATS_USER/PASSWORD for `user` (unchanged when NATS is not ours)."""
    if passwords is None or user not in passwords:
        return dict(env)
    return {**env, "LEDGER_NATS_USER": user, "LEDGER_NATS_PASSWORD": passwords[user]}


def with_identity(spec: ServiceSpec, passwords: Mapping[str, str] | None) -> ServiceSpec:
    """A service runs as itself; a service without an identity of its own gets none."""
    return msgspec.structs.replace(spec, env=identity_env(spec.env, spec.name, passwords))


def embedded_auth(settings: Settings) -> str:
    """The authorization block of the embedded nats-server: generated secrets + the sources file."""
    from ledger.natsconn import auth_dir, sources_file

    passwords = ensure_secrets(auth_dir(settings))
    sources = load_sources(ensure_demo_sources(sources_file(settings)))
    return render_authorization([settings.subjects], sources, passwords)
