"""Fires each (deadline, level) when its instant comes: claim → send → record, safe with several replicas.

Claiming is one statement: due `pending` rows (and `sending` rows whose lease expired) are locked with
FOR UPDATE SKIP LOCKED and moved to `sending` with a lease, so two replicas never claim the same row.
A row whose higher level of the same deadline is also due is marked `superseded` instead (after a
long outage or a late catch-up the bureau gets the current level, not a burst of stale ones).
The loop sleeps until the next fire instant or a wake-up (Postgres NOTIFY from the view, or `wake()`);
it never polls faster than that.

Leases are kept while held: every `lease / 3` the replica extends the lease of every row it still
holds (queued, being sent, or delivered and waiting for its record), so another replica never takes
over an alert that this one is still working on — e.g. one whose record cannot be appended for longer
than the lease. Renewal is a loop of its own (`renew_forever`), not a step of the claim loop: a claim
round can be held up for long (lease recovery reads each project's history from NATS, seconds per
project exactly when NATS is unreachable), and renewal must not wait for it. Only a replica that stops
renewing (it died, or lost Postgres) lets its leases run out.

Back-pressure: at most `max_pending` claimed alerts wait in this replica's delivery queues. When a
receiver is slow or down, claiming stops until deliveries make room. Queued rows keep their leases
(they are held, so renewed): the bound is on memory and on send latency — an alert claimed now is sent
after at most that many queued ahead of it, and what this replica cannot take now stays `pending`,
free for another replica to claim.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid
from collections.abc import Collection

import asyncpg

from ledger.clock import Clock
from ledger.eventlog import EventLog
from ledger.waits import wait_set
from services.notify.channels.base import AlertItem
from services.notify.delivery import Claimed, Outcome, TargetWorker
from services.notify.recorder import recorded_keys

log = logging.getLogger("notify.scheduler")
SAFETY_WAKE_S = 30.0  # a missed NOTIFY (connection blip) delays an alert by at most this much

CLAIM = """
WITH due AS (
    SELECT alert_key, state AS prev_state FROM {s}.alerts
    WHERE (state = 'pending' AND fire_at <= $1) OR (state = 'sending' AND claimed_until <= $1)
    ORDER BY fire_at LIMIT $2 FOR UPDATE SKIP LOCKED)
UPDATE {s}.alerts a SET
    state = CASE WHEN due.prev_state = 'pending' AND EXISTS (
        SELECT 1 FROM {s}.alerts b WHERE b.deadline_id = a.deadline_id AND b.due_on = a.due_on
          AND b.target = a.target AND b.level_rank > a.level_rank AND b.fire_at <= $1
          AND b.state IN ('pending', 'sending', 'sent', 'failed', 'dry_run'))
      THEN 'superseded' ELSE 'sending' END,
    claimed_until = $1 + make_interval(secs => $3), claimed_by = $4
FROM due WHERE a.alert_key = due.alert_key
RETURNING a.*, due.prev_state,
    (SELECT p.name FROM {s}.projects p WHERE p.project_id = a.project_id) AS project_name,
    (SELECT p.leader FROM {s}.projects p WHERE p.project_id = a.project_id) AS leader
"""

RENEW = """
UPDATE {s}.alerts SET claimed_until = $1::timestamptz + make_interval(secs => $2)
WHERE alert_key = ANY($3::text[]) AND state = 'sending' AND claimed_by = $4
"""


class Scheduler:
    def __init__(self, pool: asyncpg.Pool, schema: str, clock: Clock, workers: dict[str, TargetWorker],
                 event_log: EventLog, *, lease_seconds: float = 300.0, batch: int = 1000,
                 max_pending: int | None = None, recording: Collection[str] = frozenset()) -> None:
        self.pool, self.schema, self.clock, self.workers = pool, schema, clock, workers
        self.recording = recording  # keys delivered, their record still to land (the recorder's `holding`)
        self.log, self.lease, self.batch = event_log, lease_seconds, batch
        self.max_pending = max_pending if max_pending is not None else batch
        self.me = f"notify-{uuid.uuid4().hex[:8]}"
        self._wake = asyncio.Event()
        self._full = False
        self._moved = asyncio.Event()  # set by `wake()`: the renewal loop looks at the clock again
        self.claimed = 0
        self.renewed = 0  # leases extended (rows)
        self.ticks = 0  # completed claim rounds (tests wait on it instead of sleeping)
        for worker in workers.values():
            worker.on_done = self._delivered

    def wake(self, *_: object) -> None:
        self._wake.set()
        self._moved.set()

    def pending(self) -> int:
        return sum(len(w.pending_keys) for w in self.workers.values())

    def held(self) -> list[str]:
        """Keys this replica claimed and has not settled: queued or being sent, or waiting for their record."""
        return [*self.recording, *(k for w in self.workers.values() for k in w.pending_keys)]

    async def renew(self) -> int:
        """Extend the lease of every row this replica holds (still `sending`, still claimed by it)."""
        held = self.held()
        now = self.clock.now()
        if not held:
            return 0
        async with self.pool.acquire() as conn:
            done: str = await conn.execute(RENEW.format(s=self.schema), now, self.lease, held, self.me)
        rows = int(done.split()[-1])
        self.renewed += rows
        return rows

    def _holding(self, key: str) -> bool:
        return key in self.recording or any(key in w.pending_keys for w in self.workers.values())

    def _delivered(self) -> None:
        if self._full and self.pending() <= self.max_pending // 2:
            self._full = False
            self._wake.set()

    async def claim(self, limit: int | None = None) -> list[asyncpg.Record]:
        async with self.pool.acquire() as conn:
            rows: list[asyncpg.Record] = await conn.fetch(CLAIM.format(s=self.schema), self.clock.now(),
                                                          limit or self.batch, self.lease, self.me)
        return rows

    async def next_instant(self) -> dt.datetime | None:
        s = self.schema
        async with self.pool.acquire() as conn:
            value: dt.datetime | None = await conn.fetchval(
                f"""SELECT least((SELECT min(fire_at) FROM {s}.alerts WHERE state = 'pending'),
                                 (SELECT min(claimed_until) FROM {s}.alerts WHERE state = 'sending'))""")
        return value

    async def tick(self) -> int:
        """Claim what is due now (as much as the queues have room for) and hand it to the target
        workers; returns rows claimed."""
        room = min(self.batch, self.max_pending - self.pending())
        if room <= 0:
            self._full = True
            return 0
        rows = await self.claim(room)
        recovered: list[Claimed] = []
        for r in rows:
            if r["state"] != "sending" or self._holding(r["alert_key"]):  # still ours (queued/recording): lease renewed
                continue
            item = AlertItem(r["alert_key"], r["project_id"], r["project_name"] or "", r["kind"], r["ref"],
                             r["level"], r["due_on"], r["department"], r["leader"] or "")
            c = Claimed(item, r["target"], r["channel"], r["recipient"], recovered=r["prev_state"] == "sending")
            if c.recovered:
                recovered.append(c)
            elif r["target"] in self.workers:
                self.workers[r["target"]].offer(c)
            else:
                log.error("alert %s: target %s is no longer configured", r["alert_key"], r["target"])
        if recovered:
            await self._recover(recovered)
        self.claimed += len(rows)
        return len(rows)

    async def _recover(self, claimed: list[Claimed]) -> None:
        """A lease expired (its holder died between claim and settle): resend only what the log lacks."""
        for c in claimed:
            try:
                loaded = await self.log.load_project(c.item.project_id)
            except Exception as err:  # e.g. NATS unreachable: the row stays claimed; a later round checks again
                log.warning("alert %s: lease expired, but its project's history cannot be read (%r): "
                            "left for a later round", c.item.alert_key, err)
                continue
            state = recorded_keys(loaded).get(c.item.alert_key)
            worker = self.workers.get(c.target)
            if state is not None and worker is not None:
                log.info("alert %s was recorded %s before a crash: settling, not resending", c.item.alert_key, state)
                await worker.report([Outcome(c, state == "sent", 0, self.clock.now(), "" if state == "sent"
                                             else "recorded as failed before a restart")])
            elif worker is not None:
                log.warning("alert %s: lease expired without a record: sending again (at-least-once window)",
                            c.item.alert_key)
                worker.offer(c)

    async def renew_forever(self) -> None:
        """Renew the held leases every `lease / 3` of the clock, on its own (see the module's docstring):
        a claim round stuck on the log must not let them run out. After a failure, again soon: a lease
        lasts three renewals. The pause ends by the clock (a test's clock moves when it says so) or by the
        loop's monotonic time, whichever comes first (a wall clock stepped back does not delay renewal);
        wake-ups (`wake()`) only make it look at the clock again."""
        loop = asyncio.get_running_loop()
        while True:
            began, began_loop = self.clock.now(), loop.time()  # the pause counts from here, however long renew takes
            try:
                await self.renew()
                pause = self.lease / 3
            except (OSError, asyncpg.PostgresError) as err:
                pause = min(5.0, self.lease / 30)
                log.warning("could not extend the leases of %d held alerts (%r); trying again shortly",
                            len(self.held()), err)
            due, until = began + dt.timedelta(seconds=pause), began_loop + pause
            while (left := min((due - self.clock.now()).total_seconds(), until - loop.time())) > 0:
                self._moved.clear()
                await wait_set(self._moved, left)

    async def run(self) -> None:
        """Claim rounds, until cancelled. Leases are renewed by `renew_forever`, a task of its own."""
        while True:
            self._wake.clear()
            claimed = await self.tick()
            self.ticks += 1
            if self._full:  # the queues are full: wait until deliveries make room (or the safety wake)
                await wait_set(self._wake, SAFETY_WAKE_S)
                continue
            if claimed >= self.batch:
                continue
            at = await self.next_instant()
            delay = SAFETY_WAKE_S if at is None else (at - self.clock.now()).total_seconds()
            if delay <= 0:
                if claimed:
                    continue
                delay = 0.05  # due rows locked by another replica's claim right now: let it commit
            await wait_set(self._wake, min(delay, SAFETY_WAKE_S))
