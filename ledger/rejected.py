"""The rejected stream's record format (headers) and its reader, shared by intake and the CLI."""

from __future__ import annotations

import datetime as dt

import msgspec
from nats.aio.client import Client as NATS

from contracts.subjects import SOURCE_HEADER, Subjects
from ledger.logtime import parse_nats_time

TIME_HEADER = "Ledger-Time"
CODE_HEADER = "Ledger-Code"
FIELD_HEADER = "Ledger-Field"
MESSAGE_HEADER = "Ledger-Message"
SUBJECT_HEADER = "Ledger-Subject"


class RejectedEntry(msgspec.Struct, frozen=True, kw_only=True):
    seq: int
    source: str
    time: str
    code: str
    field: str
    message: str
    subject: str
    raw: bytes


async def read_rejected(
    nc: NATS,
    subjects: Subjects,
    *,
    source: str | None = None,
    since: dt.datetime | None = None,
    batch: int = 500,
    wait_s: float = 5.0,
) -> list[RejectedEntry]:
    """Every entry (of one source, since a time) in order, by batched direct get.

    `start_time` is only a hint to the server (it answers with the last message when nothing is
    newer), so entries are also filtered here by their stored time.
    """
    subject = subjects.rejected(source or "*")
    api = f"$JS.API.DIRECT.GET.{subjects.rejected_stream}"
    out: list[RejectedEntry] = []
    request: dict[str, object] = {"next_by_subj": subject, "batch": batch}
    if since is not None:
        request["start_time"] = since.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    else:
        request["seq"] = 1
    while True:
        inbox = nc.new_inbox()
        sub = await nc.subscribe(inbox)
        got, last_seq = 0, 0
        try:
            await nc.publish(api, msgspec.json.encode(request), reply=inbox)
            while True:
                msg = await sub.next_msg(timeout=wait_s)
                headers = msg.headers or {}
                status = headers.get("Status")
                if status in ("404", "204"):
                    break
                if status is not None:
                    raise RuntimeError(f"reading {subjects.rejected_stream}: status {status} {headers}")
                got += 1
                if since is None or parse_nats_time(headers["Nats-Time-Stamp"]) >= since:
                    out.append(_entry(msg.data, headers))
                last_seq = int(headers["Nats-Sequence"])
        finally:
            await sub.unsubscribe()
        if got < batch:
            return out
        request = {"next_by_subj": subject, "batch": batch, "seq": last_seq + 1}


def _entry(data: bytes, headers: dict[str, str]) -> RejectedEntry:
    return RejectedEntry(
        seq=int(headers["Nats-Sequence"]),
        source=headers.get(SOURCE_HEADER, ""),
        time=headers.get(TIME_HEADER, ""),
        code=headers.get(CODE_HEADER, ""),
        field=headers.get(FIELD_HEADER, ""),
        message=headers.get(MESSAGE_HEADER, ""),
        subject=headers.get(SUBJECT_HEADER, ""),
        raw=data,
    )
