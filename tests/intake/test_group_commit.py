"""Group commit (appender.GroupAppender, EventLog.append_atomic) against the real server."""

from __future__ import annotations

import asyncio

import msgspec
import nats.errors
import pytest
from nats.aio.client import Client as NATS

from contracts.subjects import Subjects
from contracts.types import GENESIS_HASH
from ledger.eventlog import AppendResult, BatchRefused, ConcurrencyConflict, EventLog, Loaded, provision, stream_config
from services.intake.appender import GroupAppender
from tests.factories import commit_after, received

EMPTY = Loaded(records=[], version=0, last_hash=GENESIS_HASH, last_number=0)


async def grouped(log: EventLog, **kw: int) -> GroupAppender:
    """A group appender whose log has already asked the stream about atomic batches: appends
    started together then queue up together (each would otherwise wait for that answer)."""
    await log.atomic_allowed()
    return GroupAppender(log, **kw)


async def _empty(log: EventLog, pid: str) -> Loaded:
    loaded = await log.load_project(pid)
    assert loaded.version == 0
    return loaded


async def test_concurrent_appends_land_in_atomic_batches_with_the_sequences_the_log_holds(log: EventLog) -> None:
    group = await grouped(log, min_batch=4, max_inflight=1)
    base = await _empty(log, "G-0")
    commits = [commit_after(base, f"G-{i}", [received(f"G-{i}")]) for i in range(200)]
    others = [commit_after(base, f"O-{i}", [received(f"O-{i}")]) for i in range(50)]  # single appends meanwhile
    results, singles = await asyncio.gather(
        asyncio.gather(*(group.append(c, expected_version=0) for c in commits)),
        asyncio.gather(*(EventLog(log.nc, log.subjects).append(c, expected_version=0) for c in others)))
    assert len({r.seq for r in [*results, *singles]}) == 250
    assert group.batches >= 1 and group.batched >= 100 and group.fallbacks == 0  # mostly batched, not singles
    assert len({r.seq for r in results}) == 200
    for commit, result in zip(commits, results, strict=True):  # each receipt names the commit's real place
        loaded = await log.load_project(commit.key)
        assert [(r.seq, r.hash, r.commit.commit_id) for r in loaded.records] == \
            [(result.seq, result.hash, commit.commit_id)]
        assert not result.duplicate
    # the chain continues from what the batch reported
    following = commit_after(await log.load_project("G-7"), "G-7", [received("G-7")])
    assert (await log.append(following, expected_version=results[7].seq)).seq > results[-1].seq


async def test_a_refused_batch_is_appended_one_by_one_with_exact_outcomes(log: EventLog) -> None:
    group = await grouped(log, min_batch=2, max_inflight=1)
    base = await _empty(log, "H-taken")
    landed = commit_after(base, "H-taken", [received("H-taken")])
    first = await log.append(landed, expected_version=0)
    fresh = [commit_after(base, f"H-{i}", [received(f"H-{i}")]) for i in range(5)]
    conflicting = commit_after(base, "H-taken", [received("H-taken")])  # expects version 0: stale
    outcomes = await asyncio.gather(
        *(group.append(c, expected_version=0) for c in [*fresh, conflicting, landed]), return_exceptions=True)
    assert group.fallbacks >= 1
    assert all(isinstance(o, AppendResult) and not o.duplicate for o in outcomes[:5])
    assert isinstance(outcomes[5], ConcurrencyConflict)
    retry = outcomes[6]  # the very commit that landed before: found again, nothing written twice
    assert isinstance(retry, AppendResult) and retry.seq == first.seq and retry.duplicate
    assert len((await log.load_project("H-taken")).records) == 1
    for commit, outcome in zip(fresh, outcomes[:5], strict=True):
        assert isinstance(outcome, AppendResult)
        assert [r.seq for r in (await log.load_project(commit.key)).records] == [outcome.seq]


async def test_two_commits_of_one_key_never_share_a_batch(log: EventLog) -> None:
    base = await _empty(log, "K-1")
    one = commit_after(base, "K-1", [received("K-1")])
    two = commit_after(base, "K-1", [received("K-1")])
    with pytest.raises(BatchRefused):
        await log.append_atomic([(one, 0), (two, 0)])
    assert (await log.load_project("K-1")).version == 0  # all or nothing
    group = await grouped(log, min_batch=2, max_inflight=1)
    outcomes = await asyncio.gather(group.append(one, expected_version=0), group.append(two, expected_version=0),
                                    return_exceptions=True)
    assert sum(isinstance(o, AppendResult) for o in outcomes) == 1
    assert sum(isinstance(o, ConcurrencyConflict) for o in outcomes) == 1


async def test_a_stream_without_atomic_batches_gets_single_appends(admin: NATS, subjects: Subjects) -> None:
    other = Subjects(prefix=subjects.prefix + "na")
    config = stream_config(other)
    config.allow_atomic = False
    await admin.jetstream().add_stream(config)  # an older stream, provisioned before group commit
    log = EventLog(admin, other)
    assert not await log.atomic_allowed()
    group = GroupAppender(log, min_batch=2)
    commits = [commit_after(EMPTY, f"N-{i}", [received(f"N-{i}")]) for i in range(20)]
    results = await asyncio.gather(*(group.append(c, expected_version=0) for c in commits))
    assert group.batches == 0 and len({r.seq for r in results}) == 20
    await provision(admin.jetstream(), other)  # the admin's provisioning accepts it and turns batches on
    assert await EventLog(admin, other).atomic_allowed()


async def test_one_commit_that_cannot_be_sent_fails_alone(log: EventLog) -> None:
    group = await grouped(log, min_batch=2, max_inflight=1)
    huge = received("J-huge")
    huge = msgspec.structs.replace(huge, event=msgspec.structs.replace(huge.event, name="x" * (2 << 20)))
    commits = [commit_after(EMPTY, f"J-{i}", [received(f"J-{i}")]) for i in range(4)]
    commits.insert(2, commit_after(EMPTY, "J-huge", [huge]))  # over the server's max_payload
    outcomes = await asyncio.gather(*(group.append(c, expected_version=0) for c in commits), return_exceptions=True)
    assert group.fallbacks == 1
    assert isinstance(outcomes[2], nats.errors.MaxPayloadError), outcomes[2]
    for commit, outcome in zip(commits[:2] + commits[3:], outcomes[:2] + outcomes[3:], strict=True):
        assert isinstance(outcome, AppendResult)
        assert [r.seq for r in (await log.load_project(commit.key)).records] == [outcome.seq]
    assert (await log.load_project("J-huge")).version == 0


async def test_a_batch_continues_existing_chains_at_their_versions(log: EventLog) -> None:
    group = await grouped(log, min_batch=2, max_inflight=1)
    firsts = await asyncio.gather(*(log.append(commit_after(EMPTY, f"V-{i}", [received(f"V-{i}")]), expected_version=0)
                                    for i in range(6)))
    loaded = [await log.load_project(f"V-{i}") for i in range(6)]
    seconds = [commit_after(lo, f"V-{i}", [received(f"V-{i}")]) for i, lo in enumerate(loaded)]
    results = await asyncio.gather(*(group.append(c, expected_version=f.seq)
                                     for c, f in zip(seconds, firsts, strict=True)))
    assert group.batches == 1 and group.batched == 6 and group.fallbacks == 0
    for i, result in enumerate(results):
        records = (await log.load_project(f"V-{i}")).records
        assert [r.seq for r in records] == [firsts[i].seq, result.seq]
        assert records[1].commit.prev_hash == records[0].hash and records[1].commit.number == 2


async def test_a_batch_continues_chains_another_replica_wrote(log: EventLog) -> None:
    """A second EventLog (another intake replica) has no chain tips cached: each is read from the
    stream, and one stale expected version refuses the whole batch."""
    firsts = [commit_after(EMPTY, f"R-{i}", [received(f"R-{i}")]) for i in range(30)]
    tips = [await log.append(c, expected_version=0) for c in firsts]
    other = EventLog(log.nc, log.subjects)
    nexts = [commit_after(await log.load_project(c.key), c.key, [received(c.key)]) for c in firsts]
    stale = [(c, t.seq) for c, t in zip(nexts, tips, strict=True)]
    stale[17] = (nexts[17], tips[17].seq - 1)
    with pytest.raises(BatchRefused):
        await EventLog(log.nc, log.subjects).append_atomic(stale)
    results = await other.append_atomic([(c, t.seq) for c, t in zip(nexts, tips, strict=True)])
    for commit, result in zip(nexts, results, strict=True):
        assert [r.seq for r in (await log.load_project(commit.key)).records][-1] == result.seq
