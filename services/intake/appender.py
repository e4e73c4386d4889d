"""Group commit: concurrent submissions' appends go to the log together, as one atomic batch.

With `sync_interval: always` the server fsyncs every message before acking it, one after the
other, so single appends top out at a few thousand a second however many publishers wait (and
the append was ~85% of a request's time in intake under load). An atomic batch is written with
one fsync, but it takes ~4 ms to commit however small it is (a single append ~0.5 ms). So at
most `max_inflight` dispatches run at once; appends asked for meanwhile wait and go together in
the next one: fewer than `min_batch` go as single appends side by side (low load: no added
latency), more as one atomic batch (under load: batches grow by themselves).

Guarantees are EventLog.append's: each commit is written iff its key's last sequence is the
expected version, at most once (msg-id). A batch is all or nothing; when the server refuses one
(a conflict, a duplicate msg-id) or its outcome is unknown, every commit of it is appended on
its own with EventLog.append, which reports conflicts, duplicates and lost acks exactly.

Not ledger.coalesce.Coalescer, though the shape is alike: that one runs one batch at a time and
answers every caller of the same key with one result, while here several batches are in flight, two
commits of one key never share a batch, and every commit gets its own outcome.
"""

from __future__ import annotations

import asyncio
import logging

from contracts.envelope import Commit
from ledger.eventlog import AppendResult, BatchRefused, EventLog

log = logging.getLogger("intake.appender")


class GroupAppender:
    def __init__(self, log: EventLog, *, max_batch: int = 256, min_batch: int = 8, max_inflight: int = 2) -> None:
        self.log = log
        self.max_batch = max_batch
        self.min_batch = min_batch
        self._slots = asyncio.Semaphore(max_inflight)  # batches in flight (the server takes ~50 per stream)
        self._waiting: list[tuple[Commit, int, asyncio.Future[AppendResult]]] = []
        self._worker: asyncio.Task[None] | None = None
        self._batches: set[asyncio.Task[None]] = set()
        self.batches = 0  # atomic batches written
        self.batched = 0  # commits in them
        self.fallbacks = 0  # batches refused, appended one by one

    async def append(self, commit: Commit, *, expected_version: int) -> AppendResult:
        if not await self.log.atomic_allowed():
            return await self.log.append(commit, expected_version=expected_version)
        future: asyncio.Future[AppendResult] = asyncio.get_running_loop().create_future()
        self._waiting.append((commit, expected_version, future))
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._dispatch())
        return await future

    async def _dispatch(self) -> None:
        while self._waiting:
            await self._slots.acquire()
            batch: list[tuple[Commit, int, asyncio.Future[AppendResult]]] = []
            rest: list[tuple[Commit, int, asyncio.Future[AppendResult]]] = []
            keys: set[str] = set()
            for item in self._waiting:  # one commit per key in a batch; a second one waits its turn
                if len(batch) < self.max_batch and item[0].key not in keys:
                    keys.add(item[0].key)
                    batch.append(item)
                else:
                    rest.append(item)
            self._waiting = rest
            task = asyncio.create_task(self._write(batch))
            self._batches.add(task)
            task.add_done_callback(self._batches.discard)

    async def _write(self, batch: list[tuple[Commit, int, asyncio.Future[AppendResult]]]) -> None:
        try:
            if len(batch) < self.min_batch:  # an atomic batch costs ~4 ms however small: singles are quicker
                await asyncio.gather(*(self._alone(*item) for item in batch))
                return
            try:
                results = await self.log.append_atomic([(c, v) for c, v, _ in batch])
            except Exception as why:  # refused, unanswered, or failed while sending (one commit too large, …)
                # Safe whatever happened: a batch lands whole or not at all, and append() finds a
                # commit of it that did land (msg-id). Each caller gets its own commit's outcome.
                if not isinstance(why, BatchRefused):
                    log.warning("atomic batch of %s failed (%r); appending one by one", len(batch), why)
                self.fallbacks += 1
                await asyncio.gather(*(self._alone(*item) for item in batch))
                return
            self.batches += 1
            self.batched += len(batch)
            for (_, _, f), result in zip(batch, results, strict=True):
                if not f.done():
                    f.set_result(result)
        finally:
            self._slots.release()

    async def _alone(self, commit: Commit, expected: int, future: asyncio.Future[AppendResult]) -> None:
        try:
            result = await self.log.append(commit, expected_version=expected)
        except Exception as err:
            if not future.done():
                future.set_exception(err)
        else:
            if not future.done():
                future.set_result(result)
