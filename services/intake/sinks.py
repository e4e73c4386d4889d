"""Where intake's outcomes go: the rejected stream, the receipts stream, the stages service."""

from __future__ import annotations

import datetime as dt

import msgspec
import nats.errors
from nats.aio.client import Client as NATS

from contracts.codec import decode_receipt, encode
from contracts.commands import WorkflowRequest
from contracts.receipts import Accepted, Rejected
from contracts.subjects import SOURCE_HEADER, Subjects
from ledger.rejected import CODE_HEADER, FIELD_HEADER, MESSAGE_HEADER, SUBJECT_HEADER, TIME_HEADER
from services.intake.ports import Unavailable

__all__ = ["SUBJECT_HEADER", "ReceiptStream", "RejectedStream", "StagesClient"]


def _header(value: str) -> str:
    """Header values are one line; keep them readable but bounded."""
    return " ".join(value.split())[:1000]


class RejectedStream:
    def __init__(self, nc: NATS, subjects: Subjects, *, timeout: float = 5.0) -> None:
        self.js = nc.jetstream(timeout=timeout)
        self.subjects = subjects
        self.timeout = timeout

    async def record(self, source: str, raw: bytes, rejected: Rejected, headers: dict[str, str]) -> None:
        """Append the raw bytes with why they were refused (awaits the stream's ack)."""
        meta = {
            SOURCE_HEADER: source,
            TIME_HEADER: dt.datetime.now(dt.UTC).isoformat(timespec="microseconds"),
            CODE_HEADER: rejected.code,
            FIELD_HEADER: _header(rejected.field or ""),
            MESSAGE_HEADER: _header(rejected.message),
            **{k: _header(v) for k, v in headers.items()},
        }
        await self.js.publish(self.subjects.rejected(source), raw, timeout=self.timeout,
                              stream=self.subjects.rejected_stream, headers=meta)


class ReceiptStream:
    def __init__(self, nc: NATS, subjects: Subjects, *, timeout: float = 5.0) -> None:
        self.js = nc.jetstream(timeout=timeout)
        self.subjects = subjects
        self.timeout = timeout

    async def publish(self, source: str, receipt: Accepted | Rejected) -> None:
        await self.js.publish(self.subjects.receipts(source), encode(receipt), timeout=self.timeout,
                              stream=self.subjects.receipts_stream)


class StagesClient:
    """Forwards workflow commands to the stages service by request/reply and relays its receipt."""

    def __init__(self, nc: NATS, subjects: Subjects, *, timeout: float = 5.0) -> None:
        self.nc = nc
        self.subject = subjects.stages_commands
        self.timeout = timeout

    async def forward(self, request: WorkflowRequest) -> Accepted | Rejected:
        try:
            reply = await self.nc.request(self.subject, encode(request), timeout=self.timeout)
        except nats.errors.NoRespondersError:
            raise Unavailable("the stages service is not running") from None
        except nats.errors.TimeoutError:
            raise Unavailable(f"the stages service did not answer within {self.timeout:g} s") from None
        try:
            return decode_receipt(reply.data)
        except msgspec.DecodeError as exc:
            raise RuntimeError(f"the stages service answered with something that is not a receipt: {exc}") from None
