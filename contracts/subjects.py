"""Every NATS subject and stream name of the system, in one place."""

from __future__ import annotations

import msgspec

HASH_HEADER = "Ledger-Commit-Hash"
SOURCE_HEADER = "Ledger-Source"


class Subjects(msgspec.Struct, frozen=True, kw_only=True):
    """Names under one prefix (default `ledger`); tests use unique prefixes to isolate."""

    prefix: str = "ledger"

    @property
    def events_stream(self) -> str:
        return f"{self.prefix.upper()}_EVENTS"

    @property
    def inbound_stream(self) -> str:
        return f"{self.prefix.upper()}_INBOUND"

    @property
    def rejected_stream(self) -> str:
        return f"{self.prefix.upper()}_REJECTED"

    @property
    def receipts_stream(self) -> str:
        return f"{self.prefix.upper()}_RECEIPTS"

    @property
    def events_filter(self) -> list[str]:
        return [f"{self.prefix}.project.*", f"{self.prefix}.calendar.*"]

    def project(self, project_id: str) -> str:
        return f"{self.prefix}.project.{project_id}"

    def calendar(self, year: int) -> str:
        return f"{self.prefix}.calendar.{year}"

    def submit(self, source: str) -> str:
        """Request/reply: a source sends a Submission and gets a Receipt."""
        return f"{self.prefix}.intake.{source}.submit"

    def inbound(self, source: str) -> str:
        """Fire-and-forget: a durable stream intake drains; outcome published on receipts()."""
        return f"{self.prefix}.inbound.{source}"

    def receipts(self, source: str) -> str:
        return f"{self.prefix}.receipts.{source}"

    def rejected(self, source: str) -> str:
        return f"{self.prefix}.rejected.{source}"

    @property
    def stages_commands(self) -> str:
        """Internal: intake → stages workflow requests (request/reply)."""
        return f"{self.prefix}.internal.stages"

    def key_of(self, subject: str) -> tuple[str, str]:
        """(kind, key) of an event-log subject, e.g. ('project', 'P-1')."""
        _, kind, key = subject.rsplit(".", 2)
        return kind, key
