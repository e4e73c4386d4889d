"""Puts every delivery attempt on the record: AlertSent / AlertFailed appended to the project's history, then the row.

One commit per project per batch; its id is derived from the alert keys it records, so a retried
append after a lost ack is recognised by EventLog (duplicate). Keys the history already holds are
never appended again: the log, not the row, is the truth about what was sent. An outcome whose append
fails transiently (NATS unreachable) is never dropped: it is tried again (backoff up to RETRY_MAX_S)
and held meanwhile, so that lease recovery does not send the alert a second time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable

import asyncpg
import tenacity

from contracts.envelope import Envelope
from contracts.events import AlertFailed, AlertSent, DomainEvent
from ledger.eventlog import ConcurrencyConflict, EventLog, Loaded, next_commit
from ledger.ids import event_id_for
from ledger.natsconn import NATS_TRANSIENT
from ledger.waits import within
from services.notify.delivery import Outcome
from services.notify.store import rollback_retry

log = logging.getLogger("notify.recorder")
SOURCE = "notify"
_NAMESPACE = uuid.UUID("0b6f3a52-1d8e-4c55-9a7e-5b1f4c2d9e11")
APPEND_TRIES = 5  # tries of one project's append in a round, before its outcomes wait for the next
RETRY_FIRST_S, RETRY_MAX_S = 0.5, 10.0  # backoff before an outcome whose append failed is queued again
# Append failures in NATS_TRANSIENT pass (NATS unreachable, a leader election): retried; anything else is
# left to lease recovery, which re-checks the log, so that a permanent failure does not hold its keys for ever.


def commit_id_for_alerts(project_id: str, keys: list[str]) -> str:
    return str(uuid.uuid5(_NAMESPACE, "\x00".join([project_id, *sorted(keys)])))


def recorded_keys(loaded: Loaded) -> dict[str, str]:
    """alert_key → 'sent' | 'failed' as the project's history says (a send wins over a failure)."""
    out: dict[str, str] = {}
    for r in loaded.records:
        for e in r.commit.events:
            if isinstance(e.event, AlertSent):
                out[e.event.alert_key] = "sent"
            elif isinstance(e.event, AlertFailed):
                out.setdefault(e.event.alert_key, "failed")
    return out


def event_of(o: Outcome) -> DomainEvent:
    i, c = o.claimed.item, o.claimed
    common = {"alert_key": i.alert_key, "deadline_kind": i.kind, "deadline_ref": i.ref, "level": i.level,
              "due_on": i.due_on, "channel": c.channel, "recipient": c.recipient}
    if o.ok:
        return AlertSent(sent_at=o.at, **common)  # type: ignore[arg-type]
    return AlertFailed(attempts=o.attempts, error=o.error or "unknown", **common)  # type: ignore[arg-type]


class Recorder:
    """Records outcomes in batches. While alerts are still going out it waits (for `delivered()`) up to
    `yield_seconds` before recording, so that a burst of due alerts is delivered first: recording
    competes for the same core. The wait widens the crash window between a send and its record by
    at most that much (see the delivery guarantee in the README)."""

    def __init__(self, event_log: EventLog, pool: asyncpg.Pool, schema: str, *, max_attempts: int = 10,
                 batch: int = 2000, delivered: Callable[[], Awaitable[object]] | None = None,
                 yield_seconds: float = 1.0) -> None:
        self.log, self.pool, self.schema, self.max_attempts = event_log, pool, schema, max_attempts
        self.batch = batch
        self.delivered, self.yield_seconds = delivered, yield_seconds
        self._slots = asyncio.Semaphore(64)
        self.queue: asyncio.Queue[Outcome] = asyncio.Queue()
        # Alert keys handed over and not yet on the record: the scheduler's lease recovery skips them
        # (the log does not show them sent yet, but they were, and their record is still coming).
        self.holding: set[str] = set()
        self._none_held = asyncio.Event()
        self._none_held.set()
        self._retry_in = RETRY_FIRST_S

    async def submit(self, outcomes: list[Outcome]) -> None:
        """Hand outcomes over; `run` records them in batches (delivery does not wait for the log)."""
        for o in outcomes:
            self.holding.add(o.claimed.item.alert_key)
            self.queue.put_nowait(o)
        if self.holding:
            self._none_held.clear()

    async def drained(self) -> None:
        """Return once everything handed over so far is on the record (a stop waits for it, bounded)."""
        await self._none_held.wait()

    def _release(self, outcomes: list[Outcome]) -> None:
        self.holding.difference_update(o.claimed.item.alert_key for o in outcomes)
        if not self.holding:
            self._none_held.set()

    def _again_later(self, outcomes: list[Outcome]) -> None:
        """Queue them again after a backoff that grows while appends keep failing; they stay held."""
        asyncio.get_running_loop().call_later(self._retry_in, self._requeue, outcomes)
        self._retry_in = min(self._retry_in * 2, RETRY_MAX_S)

    def _requeue(self, outcomes: list[Outcome]) -> None:
        for o in outcomes:
            self.queue.put_nowait(o)

    async def _yield_to_delivery(self) -> None:
        if self.delivered is not None:
            with contextlib.suppress(TimeoutError):
                await within(self.delivered(), self.yield_seconds)

    async def run(self) -> None:
        while True:
            batch = [await self.queue.get()]
            await self._yield_to_delivery()
            while len(batch) < self.batch and not self.queue.empty():
                batch.append(self.queue.get_nowait())
            try:
                await self.record(batch)
            except Exception:  # settling failed: the rows stay 'sending'; the view or lease recovery settles them
                log.exception("recording %d outcomes failed; recovery will settle them", len(batch))

    async def record(self, outcomes: list[Outcome]) -> None:
        """Append each project's records (retrying a project that failed transiently a few times, then
        queueing its outcomes again for later: dropped, lease recovery would find no record and send the
        alert again), then settle the rows."""
        by_project: dict[str, list[Outcome]] = defaultdict(list)
        for o in outcomes:
            if o.dry_run:
                continue
            by_project[o.claimed.item.project_id].append(o)
        results = await asyncio.gather(*(self._append_patiently(pid, os) for pid, os in by_project.items()),
                                       return_exceptions=True)
        seqs: dict[str, int] = {}
        again: list[Outcome] = []
        for result, (pid, os) in zip(results, by_project.items(), strict=True):
            if isinstance(result, NATS_TRANSIENT):
                log.error("recording %d outcomes of %s failed (%r); trying again in %.1f s", len(os), pid, result,
                          self._retry_in)
                again.extend(os)
            elif isinstance(result, BaseException):
                log.error("recording %d outcomes of %s failed (%r); lease recovery will settle them", len(os), pid,
                          result)
                self._release(os)
            else:
                seqs.update((o.claimed.item.alert_key, result) for o in os)
        landed = [o for o in outcomes if o.dry_run or o.claimed.item.alert_key in seqs]
        self._release(landed)  # on the record: lease recovery finds them there and settles, never resends
        if again:
            self._again_later(again)
        else:
            self._retry_in = RETRY_FIRST_S
        if landed:
            await self.settle(landed, seqs)

    async def _append_patiently(self, project_id: str, outcomes: list[Outcome]) -> int:
        async with self._slots:  # thousands of loads and appends at once only time each other out
            seq: int = await tenacity.AsyncRetrying(
                stop=tenacity.stop_after_attempt(APPEND_TRIES), wait=tenacity.wait_exponential(multiplier=0.2, max=5),
                retry=tenacity.retry_if_exception_type(NATS_TRANSIENT),
                reraise=True)(self._append, project_id, outcomes)
            return seq

    async def _append(self, project_id: str, outcomes: list[Outcome]) -> int:
        for _ in range(self.max_attempts):
            loaded = await self.log.load_project(project_id)
            done = recorded_keys(loaded)
            todo = [o for o in outcomes if done.get(o.claimed.item.alert_key) != "sent"
                    and not (not o.ok and o.claimed.item.alert_key in done)]
            if not todo:
                return loaded.version
            cid = commit_id_for_alerts(project_id, [o.claimed.item.alert_key for o in todo])
            envelopes = [Envelope(event_id=event_id_for(cid, n), project_id=project_id, occurred_at=o.at,
                                  actor="notify", source=SOURCE, correlation_id=o.claimed.item.alert_key,
                                  event=event_of(o)) for n, o in enumerate(todo)]
            commit = next_commit(loaded, commit_id=cid, key=project_id, events=envelopes)
            try:
                return (await self.log.append(commit, expected_version=loaded.version)).seq
            except ConcurrencyConflict:
                continue
        raise RuntimeError(f"{project_id}: could not append alert records after {self.max_attempts} conflicts")

    async def settle(self, outcomes: list[Outcome], seqs: dict[str, int]) -> None:
        """The row follows the record (the view's own consumer would settle it too, a little later)."""
        rows: list[tuple[object, ...]] = sorted(
            ((o.claimed.item.alert_key, "dry_run" if o.dry_run else "sent" if o.ok else "failed", o.at,
              o.error or None, o.attempts, seqs.get(o.claimed.item.alert_key)) for o in outcomes),
            key=lambda r: str(r[0]))
        await rollback_retry()(self._settle, [str(r[0]) for r in rows], rows)

    async def _settle(self, keys: list[str], rows: list[tuple[object, ...]]) -> None:
        s = self.schema
        async with self.pool.acquire() as conn, conn.transaction():
            # lock in key order (the view's writer does too), then update
            await conn.execute(f"SELECT 1 FROM {s}.alerts WHERE alert_key = ANY($1) ORDER BY alert_key FOR UPDATE",
                               keys)
            await conn.execute(
                f"""UPDATE {s}.alerts a SET state = CASE WHEN a.state = 'sent' THEN 'sent' ELSE r.state END,
                      sent_at = CASE WHEN r.state IN ('sent', 'dry_run') THEN r.at ELSE a.sent_at END,
                      error = r.error, attempts = a.attempts + r.attempts, claimed_until = NULL,
                      recorded_seq = coalesce(r.seq, a.recorded_seq)
                    FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[], $5::int[], $6::bigint[])
                      AS r(key, state, at, error, attempts, seq)
                    WHERE a.alert_key = r.key AND a.state IN ('sending', 'pending', 'sent', 'failed')""",
                *map(list, zip(*rows, strict=True)))
