"""Appends: atomic commits, optimistic concurrency, lost-ack retries, hash chain."""

from __future__ import annotations

import asyncio

import pytest

from contracts import commands as cmd
from contracts.commands import Submission
from contracts.envelope import Recorded
from contracts.receipts import Accepted
from contracts.types import GENESIS_HASH
from ledger.eventlog import ChainMismatch, ConcurrencyConflict, EventLog
from ledger.receipts import judge_duplicate
from tests.factories import blocker, commit_after, received


async def test_a_new_project_starts_its_chain_at_genesis(log: EventLog) -> None:
    empty = await log.load_project("P-1")
    assert empty.version == 0 and empty.last_hash == GENESIS_HASH

    done = await log.append(commit_after(empty, "P-1", [received("P-1"), blocker("P-1", 1)]), expected_version=0)

    loaded = await log.load_project("P-1")
    assert loaded.version == done.seq
    assert loaded.last_hash == done.hash
    assert [len(r.commit.events) for r in loaded.records] == [2]  # one command, one message


async def test_fifty_concurrent_writers_with_the_same_version_exactly_one_wins(log: EventLog) -> None:
    base = await log.load_project("P-race")
    first = await log.append(commit_after(base, "P-race", [received("P-race")]), expected_version=0)
    tip = await log.load_project("P-race")

    async def write(n: int) -> str:
        try:
            await log.append(commit_after(tip, "P-race", [blocker("P-race", n)]), expected_version=first.seq)
            return "won"
        except ConcurrencyConflict:
            return "conflict"

    outcomes = await asyncio.gather(*(write(n) for n in range(50)))

    assert outcomes.count("won") == 1
    assert outcomes.count("conflict") == 49
    after = await log.load_project("P-race")
    assert [r.commit.number for r in after.records] == [1, 2]
    seqs = [r.seq async for r in log.read()]
    assert seqs == list(range(1, len(seqs) + 1))  # no gap, no duplicate in the global order
    assert len(seqs) == 2


async def test_a_retried_append_after_a_lost_ack_lands_once_and_reports_success(log: EventLog) -> None:
    base = await log.load_project("P-retry")
    commit = commit_after(base, "P-retry", [received("P-retry")])
    first = await log.append(commit, expected_version=0)

    # The ack was lost: the writer only knows what it read before and sends the same commit again.
    log._tip.clear()
    again = await log.append(commit, expected_version=0)

    assert again.seq == first.seq and again.hash == first.hash and again.duplicate
    records = (await log.load_project("P-retry")).records
    assert len(records) == 1 and again.original == records[0]  # the log had the record in hand: no second read

    async def no_read(seq: int) -> Recorded | None:
        raise AssertionError(f"read {seq} again")
    submission = Submission(idempotency_key="k-retry", project_id="P-retry",
                            occurred_at=commit.events[0].occurred_at, actor="李科员",
                            command=cmd.WithdrawApplication(reason="x"))  # judged by its hash alone
    answer = await judge_duplicate(again, no_read, submission, commit.submission_hash)
    assert isinstance(answer, Accepted) and answer.duplicate and answer.project_version == first.seq


async def test_a_retry_long_after_the_duplicate_window_is_still_recognised(log: EventLog) -> None:
    # The expected-sequence check fires before the msg-id check, so recognition does not depend
    # on the duplicate window: a later commit by someone else does not confuse it either.
    base = await log.load_project("P-late")
    commit = commit_after(base, "P-late", [received("P-late")])
    await log.append(commit, expected_version=0)
    tip = await log.load_project("P-late")
    await log.append(commit_after(tip, "P-late", [blocker("P-late", 1)]), expected_version=tip.version)

    again = await log.append(commit, expected_version=0)
    assert again.duplicate and again.seq == tip.version


async def test_a_different_commit_on_a_stale_version_is_a_conflict(log: EventLog) -> None:
    base = await log.load_project("P-stale")
    await log.append(commit_after(base, "P-stale", [received("P-stale")]), expected_version=0)
    with pytest.raises(ConcurrencyConflict):
        await log.append(commit_after(base, "P-stale", [received("P-stale")]), expected_version=0)


async def test_a_commit_that_breaks_the_hash_chain_is_refused_and_nothing_is_written(log: EventLog) -> None:
    base = await log.load_project("P-chain")
    done = await log.append(commit_after(base, "P-chain", [received("P-chain")]), expected_version=0)
    tip = await log.load_project("P-chain")
    forged = commit_after(tip, "P-chain", [blocker("P-chain", 1)]).__replace__(prev_hash="f" * 64)

    with pytest.raises(ChainMismatch, match="prev_hash"):
        await log.append(forged, expected_version=done.seq)
    wrong_number = commit_after(tip, "P-chain", [blocker("P-chain", 1)]).__replace__(number=7)
    with pytest.raises(ChainMismatch, match="number"):
        await log.append(wrong_number, expected_version=done.seq)
    assert len((await log.load_project("P-chain")).records) == 1


async def test_loading_a_long_history_pages_through_batches_in_order(log: EventLog) -> None:
    loaded = await log.load_project("P-long")
    for n in range(600):
        events = [received("P-long")] if n == 0 else [blocker("P-long", n)]
        await log.append(commit_after(loaded, "P-long", events), expected_version=loaded.version)
        loaded = await log.load_project("P-long") if n % 97 == 0 else _advance(loaded, log, "P-long")
    other = await log.load_project("P-other")
    await log.append(commit_after(other, "P-other", [received("P-other")]), expected_version=0)

    final = await log.load("project", "P-long", batch=64)
    assert [r.commit.number for r in final.records] == list(range(1, 601))
    assert all(r.subject.endswith(".P-long") for r in final.records)
    for prev, cur in zip(final.records, final.records[1:], strict=False):
        assert cur.commit.prev_hash == prev.hash


def _advance(loaded, log: EventLog, key: str):  # type: ignore[no-untyped-def]
    seq, digest, number = log._tip[log.subjects.project(key)]
    return loaded.__replace__(version=seq, last_hash=digest, last_number=number)
