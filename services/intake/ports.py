"""The ports intake's handlers need, as protocols; app.py plugs in the real ones, tests may fake them."""

from __future__ import annotations

from typing import Protocol

from contracts.commands import WorkflowRequest
from contracts.envelope import Commit
from contracts.receipts import Accepted, Rejected
from ledger.eventlog import AppendResult
from services.intake.index import IndexEntry


class Unavailable(Exception):
    """A service intake needs did not answer; the submission may be retried with the same key."""


class Keys(Protocol):
    async def lookup(self, source: str, key: str) -> IndexEntry | None: ...


class Appends(Protocol):
    async def append(self, commit: Commit, *, expected_version: int) -> AppendResult: ...


class Freshness(Protocol):
    def fresh(self) -> bool: ...


class Stages(Protocol):
    async def forward(self, request: WorkflowRequest) -> Accepted | Rejected:
        """The stages service's receipt; raises Unavailable when nobody answers in time."""
        ...


class RejectedLog(Protocol):
    async def record(self, source: str, raw: bytes, rejected: Rejected, headers: dict[str, str]) -> None: ...


class ReceiptLog(Protocol):
    async def publish(self, source: str, receipt: Accepted | Rejected) -> None: ...
