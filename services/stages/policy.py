"""The bureau's workflow policy (stages, limits, tracks) and its loader from policy.toml."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args

from contracts.types import BlockerCause, Track

DEFAULT_POLICY_PATH = Path(__file__).with_name("policy.toml")
TRACKS: tuple[str, ...] = get_args(Track)
CAUSES: tuple[str, ...] = get_args(BlockerCause)
_CODE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_MAX_DAYS = 3650


class PolicyError(ValueError):
    """The policy file is invalid; the message names the key and the bad value."""


@dataclass(frozen=True)
class DocumentKind:
    code: str
    name_zh: str
    name_en: str


@dataclass(frozen=True)
class StageDef:
    code: str
    name_zh: str
    name_en: str
    tracks: tuple[str, ...]
    requires: tuple[str, ...]
    opens_after: tuple[str, ...]
    statutory_days: int
    committed_days: int
    department: str
    produces: str | None = None
    parallel_group: str | None = None
    issue_together: str | None = None
    max_extension_days: int = 0
    held_by: tuple[str, ...] = ()  # blocker causes that, while open, keep this stage from passing

    @property
    def rule(self) -> str:
        """The rule text recorded with every due date computed for this stage."""
        if self.committed_days == 0:
            return "non-statutory item: done the same day (limit 0 working days)"
        statutory = f"statutory {self.statutory_days}" if self.statutory_days else "no statutory limit"
        return f"committed limit {self.committed_days} working days ({statutory}), acceptance day not counted"


@dataclass(frozen=True)
class TrackDef:
    code: str
    first_stages: tuple[str, ...]
    first_stages_by_kind: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Policy:
    version: str
    stages: Mapping[str, StageDef]
    tracks: Mapping[str, TrackDef]
    documents: Mapping[str, DocumentKind]
    documents_due_days: int = 5
    pass_requires_documents: bool = True

    def __post_init__(self) -> None:
        # Every track a project may be received on needs its first stages: without them the reaction
        # to an ApplicationReceived on that track would have nothing to open. Checked here, so no
        # Policy, however built, lacks one.
        for code in TRACKS:
            if code not in self.tracks:
                raise PolicyError(f"'tracks.{code}' is missing: every track ({', '.join(TRACKS)}) needs its "
                                  "first_stages")
            track = self.tracks[code]
            for key, firsts in [("first_stages", track.first_stages),
                                *((f"first_stages_by_kind.{k}", v) for k, v in track.first_stages_by_kind.items())]:
                if not firsts:
                    raise PolicyError(f"'tracks.{code}.{key}' is empty: a project received on it would have no "
                                      "stage to open")

    def first_stages(self, track: str, project_kind: str = "") -> tuple[str, ...]:
        t = self.tracks[track]
        return t.first_stages_by_kind.get(project_kind, t.first_stages)

    def issued_with(self, code: str) -> tuple[str, ...]:
        """Every stage that passes together with ``code`` (itself included), in policy order."""
        group = self.stages[code].issue_together
        if group is None:
            return (code,)
        return tuple(s.code for s in self.stages.values() if s.issue_together == group)


def load_policy(path: Path | str | None = None) -> Policy:
    """Read and validate a policy file (the shipped default when ``path`` is None)."""
    p = Path(path) if path is not None else DEFAULT_POLICY_PATH
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except OSError as e:
        raise PolicyError(f"cannot read policy file {p}: {e.strerror}") from e
    except tomllib.TOMLDecodeError as e:
        raise PolicyError(f"policy file {p} is not valid TOML: {e}") from e
    return parse_policy(raw, source=str(p))


def parse_policy_text(text: str, source: str = "<policy>") -> Policy:
    """Validate a policy given as TOML text (for tests and the CLI's `check`)."""
    try:
        raw: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise PolicyError(f"{source} is not valid TOML: {e}") from e
    return parse_policy(raw, source=source)




class _Reader:
    """Typed access to one TOML table; every error names the full key and the value found."""

    def __init__(self, table: Mapping[str, Any], where: str, source: str) -> None:
        self.table, self.where, self.source = table, where, source
        self.used: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.where}.{name}" if self.where else name

    def fail(self, name: str, problem: str) -> PolicyError:
        value = self.table.get(name, "<missing>")
        return PolicyError(f"{self.source}: '{self.key(name)}' has value {value!r}: {problem}")

    def get(self, name: str, kind: type, default: Any = ...) -> Any:
        self.used.add(name)
        if name not in self.table:
            if default is ...:
                raise PolicyError(f"{self.source}: '{self.key(name)}' is missing")
            return default
        value = self.table[name]
        # bool is an int in Python; a limit of `true` days is a typo, not a number.
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise self.fail(name, f"expected {kind.__name__}")
        return value

    def days(self, name: str, default: Any = ...) -> int:
        value: int = self.get(name, int, default)
        if not 0 <= value <= _MAX_DAYS:
            raise self.fail(name, f"working days must be between 0 and {_MAX_DAYS}")
        return value

    def code(self, name: str, default: Any = ...) -> Any:
        value = self.get(name, str, default)
        if isinstance(value, str) and not _CODE.match(value):
            raise self.fail(name, "expected a code: lower-case letters, digits and '_'")
        return value

    def codes(self, name: str, default: Any = ...) -> tuple[str, ...]:
        values = self.get(name, list, default)
        for v in values:
            if not isinstance(v, str) or not _CODE.match(v):
                raise self.fail(name, f"{v!r} is not a code")
        return tuple(values)

    def table_of(self, name: str, default: Any = ...) -> _Reader:
        return _Reader(self.get(name, dict, default), self.key(name), self.source)

    def done(self) -> None:
        unknown = sorted(set(self.table) - self.used)
        if unknown:
            raise PolicyError(f"{self.source}: unknown key '{self.key(unknown[0])}'")


def parse_policy(raw: Mapping[str, Any], source: str = "<policy>") -> Policy:
    """Validate the decoded TOML of a policy file."""
    top = _Reader(raw, "", source)
    version = top.get("version", str)
    docs_t = top.table_of("documents", {})
    due_days = docs_t.days("due_days", 5)
    pass_requires = docs_t.get("pass_requires_documents", bool, True)
    docs_t.done()
    ext_t = top.table_of("extension", {})
    default_cap = ext_t.days("max_extension_days", 0)
    ext_t.done()

    produces_t = top.table_of("produces", {})
    documents: dict[str, DocumentKind] = {}
    for code in list(produces_t.table):
        if not _CODE.match(code):
            raise produces_t.fail(code, "document codes are lower-case letters, digits and '_'")
        d = produces_t.table_of(code)
        documents[code] = DocumentKind(code, d.get("zh", str), d.get("en", str))
        d.done()
    produces_t.done()

    stages_t = top.table_of("stages")
    stages: dict[str, StageDef] = {}
    for code in list(stages_t.table):
        if not _CODE.match(code):
            raise stages_t.fail(code, "stage codes are lower-case letters, digits and '_'")
        stages[code] = _stage(code, stages_t.table_of(code), documents, default_cap)
    stages_t.done()

    tracks_t = top.table_of("tracks")
    tracks: dict[str, TrackDef] = {}
    for code in list(tracks_t.table):
        if code not in TRACKS:
            raise tracks_t.fail(code, f"unknown track; tracks are {', '.join(TRACKS)}")
        t = tracks_t.table_of(code)
        first = t.codes("first_stages")
        by_kind_t = t.table_of("first_stages_by_kind", {})
        by_kind = {k: by_kind_t.codes(k) for k in list(by_kind_t.table)}
        by_kind_t.done()
        t.done()
        for name, firsts in [("first_stages", first), *by_kind.items()]:
            for s in firsts:
                if s not in stages or code not in stages[s].tracks:
                    raise t.fail(name, f"stage {s!r} is not a stage of the {code} track")
        tracks[code] = TrackDef(code, first, by_kind)
    tracks_t.done()
    top.done()
    _check_references(stages, source)
    try:
        return Policy(version, stages, tracks, documents, due_days, pass_requires)
    except PolicyError as e:
        raise PolicyError(f"{source}: {e}") from None


def _stage(code: str, t: _Reader, documents: Mapping[str, DocumentKind], default_cap: int) -> StageDef:
    tracks = t.codes("tracks")
    for tr in tracks:
        if tr not in TRACKS:
            raise t.fail("tracks", f"unknown track {tr!r}; tracks are {', '.join(TRACKS)}")
    requires = t.codes("requires", ())
    statutory, committed = t.days("statutory_days"), t.days("committed_days")
    if statutory and committed > statutory:
        raise t.fail("committed_days", f"the committed limit exceeds the statutory limit of {statutory}")
    produces = t.code("produces", None)
    if produces is not None and produces not in documents:
        raise t.fail("produces", "not a document listed under [produces]")
    department = t.get("department", str)
    if not department.strip():
        raise t.fail("department", "a responsible department is required")
    held_by = t.codes("held_by", ())
    for cause in held_by:
        if cause not in CAUSES:
            raise t.fail("held_by", f"{cause!r} is not a blocker cause; causes are {', '.join(CAUSES)}")
    stage = StageDef(
        code=code, name_zh=t.get("name_zh", str), name_en=t.get("name_en", str), tracks=tracks,
        requires=requires, opens_after=t.codes("opens_after", requires),
        statutory_days=statutory, committed_days=committed, department=department, produces=produces,
        parallel_group=t.code("parallel_group", None), issue_together=t.code("issue_together", None),
        max_extension_days=t.days("max_extension_days", default_cap), held_by=held_by,
    )
    t.done()
    return stage


def _check_references(stages: Mapping[str, StageDef], source: str) -> None:
    for s in stages.values():
        for key, refs in (("requires", s.requires), ("opens_after", s.opens_after)):
            for ref in refs:
                if ref not in stages:
                    raise PolicyError(f"{source}: 'stages.{s.code}.{key}' names unknown stage {ref!r}")
    # A cycle in `requires` would make its stages impossible to pass.
    state: dict[str, int] = {}

    def visit(code: str, path: tuple[str, ...]) -> None:
        if state.get(code) == 2:
            return
        if state.get(code) == 1:
            raise PolicyError(f"{source}: 'requires' forms a cycle: {' -> '.join((*path, code))}")
        state[code] = 1
        for ref in stages[code].requires:
            visit(ref, (*path, code))
        state[code] = 2

    for code in stages:
        visit(code, ())
