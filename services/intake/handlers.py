"""Intake's handlers: one submission in, one receipt out; ports are parameters, no framework here."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass

import asyncpg

from contracts.commands import Submission, SubmitApplication, WorkflowRequest
from contracts.receipts import Accepted, Rejected
from contracts.types import GENESIS_HASH
from ledger.clock import Clock
from ledger.eventlog import ChainMismatch, ConcurrencyConflict, EventLog, Loaded
from ledger.ids import submission_hash
from ledger.natsconn import NATS_TRANSIENT
from ledger.receipts import judge, judge_duplicate, judge_record
from services.intake import domain
from services.intake.idempotency import build_commit, find_in
from services.intake.ports import Appends, Freshness, Keys, ReceiptLog, RejectedLog, Stages, Unavailable
from services.intake.validate import MAX_BYTES, parse

log = logging.getLogger("intake")
NEW_PROJECT = Loaded(records=[], version=0, last_hash=GENESIS_HASH, last_number=0)

# Failures that pass by themselves: the publisher should retry, not report a bug. Postgres shutting down,
# restarting after a crash, or still starting. Not OperatorInterventionError as a whole: it also holds a
# dropped database, which a retry only repeats.
TRANSIENT_FAILURES: tuple[type[BaseException], ...] = (
    *NATS_TRANSIENT, asyncpg.PostgresConnectionError, asyncpg.AdminShutdownError, asyncpg.CrashShutdownError,
    asyncpg.CannotConnectNowError,
)
Receipt = Accepted | Rejected


@dataclass(frozen=True)
class Ports:
    log: EventLog
    keys: Keys
    freshness: Freshness
    stages: Stages
    clock: Clock
    allowed: Mapping[str, tuple[str, ...]]
    """source id → commands it may send (empty tuple: all). A source not in here is refused."""
    max_attempts: int = 8
    max_bytes: int = MAX_BYTES
    appends: Appends | None = None
    """Where commits are appended (appender.GroupAppender); None: log.append, one by one."""


async def process(raw: bytes, source: str, ports: Ports, parsed: Submission | Rejected | None = None) -> Receipt:
    """Validate, de-duplicate, then append (intake commands) or forward (workflow commands).

    `parsed`: parse(raw) when the caller has it already (the inbound batch parses to group).
    """
    try:
        return await _process(raw, source, ports, parsed)
    except TRANSIENT_FAILURES as err:  # e.g. a stream leader election, Postgres restarting
        log.warning("submission from %s: transient failure %r", source, err)
        return Rejected(code="unavailable", message="the ledger is briefly unavailable (failover or restart in "
                        "progress); nothing was written; retry with the same idempotency_key")
    except Exception:
        log.exception("submission from %s failed unexpectedly", source)
        return Rejected(code="internal_error", message="an unexpected failure; nothing was written; retry with the "
                        "same idempotency_key")


async def _process(raw: bytes, source: str, ports: Ports, parsed: Submission | Rejected | None) -> Receipt:
    if source not in ports.allowed:
        return Rejected(code="forbidden_source", message=f"source {source!r} is not a registered publishing system")
    if parsed is None:
        parsed = parse(raw, max_bytes=ports.max_bytes)
    if isinstance(parsed, Rejected):
        return parsed
    sub = parsed
    refused = domain.admit(sub, allowed=ports.allowed[source], now=ports.clock.now())
    if refused is not None:
        return refused
    digest = submission_hash(sub)
    if not ports.freshness.fresh():
        return _unavailable(sub, "the idempotency index is behind the event log")
    if domain.is_intake_command(sub):
        # The key look-up and the project load are both reads: do them at once. A new application
        # is appended optimistically at version 0 without loading; if the project exists the
        # server refuses (expected sequence) and _append loads and decides as usual.
        if isinstance(sub.command, SubmitApplication):
            seen, first = await ports.keys.lookup(source, sub.idempotency_key), NEW_PROJECT
        else:
            seen, first = await asyncio.gather(ports.keys.lookup(source, sub.idempotency_key),
                                               ports.log.load_project(sub.project_id))
        if seen is not None:
            return judge(seen.submission_hash, seen.receipt, sub, digest)
        return await _append(sub, source, digest, ports, first)
    seen = await ports.keys.lookup(source, sub.idempotency_key)
    if seen is not None:
        return judge(seen.submission_hash, seen.receipt, sub, digest)
    request = WorkflowRequest(source=source, submission=sub, received_at=ports.clock.now(), submission_hash=digest)
    try:
        return await ports.stages.forward(request)
    except Unavailable as exc:
        return _unavailable(sub, str(exc))


async def _append(sub: Submission, source: str, digest: str, ports: Ports, first: Loaded | None = None) -> Receipt:
    """Load → decide → append with the expected version; bounded retries on conflict.

    `first` is what the caller already loaded (or assumed: an empty history) for the first try.
    """
    for attempt in range(ports.max_attempts):
        loaded = first if attempt == 0 and first is not None else await ports.log.load_project(sub.project_id)
        earlier = find_in(loaded, source, sub.idempotency_key)
        if earlier is not None:
            return judge_record(earlier, sub, digest)
        decision = domain.decide(sub, domain.fold(r.commit for r in loaded.records))
        if isinstance(decision, Rejected):
            return decision
        commit = build_commit(loaded, sub, source, digest, decision)
        try:
            done = await (ports.appends or ports.log).append(commit, expected_version=loaded.version)
        except (ConcurrencyConflict, ChainMismatch):
            continue  # another writer (or our own earlier attempt) landed first: reload and decide again
        if (duplicate := await judge_duplicate(done, ports.log.get, sub, digest)) is not None:
            return duplicate  # the msg-id was seen: possibly the same key on another project
        return Accepted(idempotency_key=sub.idempotency_key, project_id=sub.project_id,
                        event_ids=[e.event_id for e in commit.events], project_version=done.seq,
                        commit_hash=done.hash, duplicate=done.duplicate)
    return Rejected(code="concurrency_exhausted", field="$.project_id", idempotency_key=sub.idempotency_key,
                    project_id=sub.project_id,
                    message=f"project {sub.project_id} changed {ports.max_attempts} times while intake decided; "
                    "retry with the same idempotency_key")


def _unavailable(sub: Submission | Rejected, why: str) -> Rejected:
    return Rejected(code="unavailable", message=f"{why}; retry with the same idempotency_key later",
                    idempotency_key=sub.idempotency_key, project_id=sub.project_id)


TRANSIENT = frozenset({"unavailable", "concurrency_exhausted"})
"""Outcomes after which a fire-and-forget message is redelivered rather than answered."""


async def answer(raw: bytes, source: str, ports: Ports, rejected: RejectedLog, headers: dict[str, str]) -> Receipt:
    """Request/reply: the receipt to send back; a rejection is recorded first (nothing silent)."""
    receipt = await process(raw, source, ports)
    if isinstance(receipt, Rejected):
        try:
            await rejected.record(source, raw, receipt, headers)
        except Exception:  # every rejection is kept: the caller retries, and the retry's rejection is recorded
            log.exception("could not record a rejection from %s in the rejected stream", source)
            return _unavailable(receipt, f"the submission was refused ({receipt.code}), but the refusal could not "
                                "be recorded for audit just now; nothing was written")
    return receipt


async def settle(
    raw: bytes, source: str, ports: Ports, rejected: RejectedLog, receipts: ReceiptLog, headers: dict[str, str],
    parsed: Submission | Rejected | None = None,
) -> bool:
    """Fire-and-forget: True when the message may be acked (outcome recorded and published).

    False after a transient outcome (stages down, too much contention, index behind): the
    message is then redelivered later, so nothing is lost; any failure to record or publish
    raises, and the message is redelivered as well.
    """
    receipt = await process(raw, source, ports, parsed)
    if isinstance(receipt, Rejected):
        if receipt.code in TRANSIENT:
            return False
        await rejected.record(source, raw, receipt, headers)
    await receipts.publish(source, receipt)
    return True
