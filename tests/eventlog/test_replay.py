"""Reading the whole log in global order, from a sequence or from a recorded time."""

from __future__ import annotations

import datetime as dt

from contracts.events import BlockerRaised
from ledger.eventlog import EventLog
from tests.factories import blocker, commit_after, received


async def _fill(log: EventLog, projects: int, per_project: int) -> list[tuple[int, str]]:
    written: list[tuple[int, str]] = []
    for n in range(per_project):
        for p in range(projects):
            pid = f"P-{p}"
            loaded = await log.load_project(pid)
            events = [received(pid)] if n == 0 else [blocker(pid, n)]
            done = await log.append(commit_after(loaded, pid, events), expected_version=loaded.version)
            written.append((done.seq, pid))
    return written


async def test_replay_from_sequence_n_returns_exactly_the_later_commits_in_order(log: EventLog) -> None:
    written = await _fill(log, projects=5, per_project=8)

    got = [(r.seq, r.commit.key) async for r in log.read(from_seq=17)]

    assert got == [w for w in written if w[0] >= 17]
    assert [(r.seq, r.commit.key) async for r in log.read()] == written
    assert [r.seq async for r in log.read(from_seq=3, until_seq=9)] == list(range(3, 10))


async def test_replay_from_a_time_starts_at_the_first_commit_recorded_then(log: EventLog) -> None:
    await _fill(log, projects=3, per_project=3)
    everything = [r async for r in log.read()]
    cut = everything[5].recorded_at

    got = [r async for r in log.read(since=cut)]

    assert [r.seq for r in got] == [r.seq for r in everything if r.recorded_at >= cut]
    assert got[0].seq <= everything[5].seq
    assert all(r.recorded_at.tzinfo is not None for r in got)


async def test_replay_past_the_end_is_empty_and_decodes_events(log: EventLog) -> None:
    await _fill(log, projects=1, per_project=2)
    assert [r async for r in log.read(from_seq=99)] == []
    last = [r async for r in log.read()][-1]
    assert isinstance(last.commit.events[0].event, BlockerRaised)
    assert last.recorded_at > dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


async def test_follow_delivers_commits_appended_after_the_reader_started(log: EventLog) -> None:
    import asyncio

    await _fill(log, projects=1, per_project=1)
    seen: list[int] = []

    async def follow() -> None:
        async for r in log.read(follow=True):
            seen.append(r.seq)
            if len(seen) == 3:
                return

    task = asyncio.create_task(follow())
    await _fill(log, projects=2, per_project=1)
    await asyncio.wait_for(task, timeout=10)
    assert seen == [1, 2, 3]


async def test_a_reader_that_falls_behind_holds_a_bounded_buffer_and_still_misses_nothing(log: EventLog) -> None:
    import asyncio

    from ledger.logreader import LogReader
    from tests.waiting import eventually

    written = await _fill(log, projects=20, per_project=10)  # 200 commits behind: pages
    reader = LogReader(log, follow=True, page=40, tail_backlog=60)
    await reader.start()
    got: list[int] = []
    most_held = 0
    try:
        while len(got) < len(written):
            got += [r.seq for r in await reader.take(25)]
            most_held = max(most_held, len(reader.buffer))
        assert reader.subscriptions == 0 and reader.pages >= 5  # caught up through pages only

        tail = asyncio.create_task(reader.take(1))  # at the tail: an empty page → push

        async def pushing() -> bool:
            return reader.subscriptions == 1
        await eventually(pushing, what="the reader follows by push at the tail")
        more = await _fill(log, projects=25, per_project=6)  # 150 commits while nobody takes
        got += [r.seq for r in await tail]

        async def stopped() -> bool:
            return reader.behind or len(got) + len(reader.buffer) >= 350
        await eventually(stopped, what="the push consumer stopped at the backlog")
        assert len(reader.buffer) <= 60
        while len(got) < len(written) + len(more):
            got += [r.seq for r in await reader.take(25)]
            most_held = max(most_held, len(reader.buffer))
    finally:
        await reader.close()
    assert got == [seq for seq, _ in written + more]  # in order, no gap, nothing twice
    assert most_held <= 60
