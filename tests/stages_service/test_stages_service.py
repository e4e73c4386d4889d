"""The stages service through the real server: reactions, concurrency, exactly-once passes."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import uuid
from collections.abc import AsyncIterator

import msgspec
import nats.errors
import pytest
from nats.aio.client import Client as NATS

from contracts import commands as cmd
from contracts import events as ev
from contracts.codec import decode_receipt, encode
from contracts.commands import Submission, WorkflowRequest
from contracts.envelope import Commit
from contracts.receipts import Accepted, Rejected
from contracts.subjects import Subjects
from ledger.calendar_log import CalendarSource
from ledger.eventlog import AppendResult, EventLog, provision
from ledger.natsconn import confirm_subscriptions
from ledger.settings import Settings
from ledger.workdays import WorkingCalendar
from services.stages import app as stages_app
from services.stages.app import build_broker
from services.stages.handlers import Ports, handle_workflow, react_to_commit
from services.stages.policy import load_policy
from tests.factories import calendar, calendar_2027, commit_after, received
from tests.netcut import NetCut
from tests.waiting import eventually, until

AT = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)  # Monday 2 March 2026, 10:00 in Shanghai


@pytest.fixture
async def stages(nats_url: str, nc: NATS, subjects: Subjects) -> AsyncIterator[EventLog]:
    log, ports = await _replica(nc, subjects)
    broker = build_broker(Settings(nats_url=nats_url, prefix=subjects.prefix), ports)
    await broker.start()
    await confirm_subscriptions(broker.connection)
    yield log
    await broker.stop()


async def _wait_for(log: EventLog, pid: str, predicate: type[ev.Event]) -> list[ev.Event]:
    async def probe() -> list[ev.Event] | None:
        events: list[ev.Event] = [e.event for r in (await log.load_project(pid)).records for e in r.commit.events]
        return events if any(isinstance(e, predicate) for e in events) else None

    return await eventually(probe, what=f"{predicate.__name__} on {pid}")


async def _send(nc: NATS, subjects: Subjects, pid: str, command: cmd.AnyCommand, key: str | None = None,
                at: dt.datetime = AT) -> Accepted | Rejected:
    submission = Submission(idempotency_key=key or uuid.uuid4().hex, project_id=pid, occurred_at=at,
                            actor="李科员", command=command)
    request = WorkflowRequest(source="window", submission=submission, received_at=at)
    reply = await nc.request(subjects.stages_commands, encode(request), timeout=10)
    return decode_receipt(reply.data)


async def _new_project(log: EventLog, pid: str) -> None:
    base = await log.load_project(pid)
    await log.append(commit_after(base, pid, [received(pid, at=AT)]), expected_version=0)
    await _wait_for(log, pid, ev.StageOpened)


async def test_an_application_received_opens_the_first_stage_with_its_due_date(stages: EventLog) -> None:
    await _new_project(stages, "P-react")
    events = await _wait_for(stages, "P-react", ev.StageOpened)
    opened = [e for e in events if isinstance(e, ev.StageOpened)]
    assert [o.stage for o in opened] == ["site_selection"]
    assert opened[0].opened_on == dt.date(2026, 3, 2)
    assert opened[0].due_on > opened[0].opened_on and opened[0].limit_days > 0


async def test_concurrent_commands_on_one_project_lose_no_update(stages: EventLog, nc: NATS,
                                                                 subjects: Subjects) -> None:
    await _new_project(stages, "P-many")
    raise_ = [cmd.RaiseBlocker(blocker_id=f"b{n}", side="enterprise", cause="insufficient_funds",
                               department="招商部门") for n in range(12)]

    receipts = await asyncio.gather(*(_send(nc, subjects, "P-many", c) for c in raise_))

    assert all(isinstance(r, Accepted) for r in receipts), receipts
    events = [e.event for r in (await stages.load_project("P-many")).records for e in r.commit.events]
    raised = sorted(e.blocker_id for e in events if isinstance(e, ev.BlockerRaised))
    assert raised == sorted(f"b{n}" for n in range(12))


async def test_a_stage_passes_only_once_when_two_pass_commands_race(stages: EventLog, nc: NATS,
                                                                    subjects: Subjects) -> None:
    await _new_project(stages, "P-pass")
    passing = cmd.PassStage(stage="site_selection", report_ref="专委会纪要 2026-07")

    first, second = await asyncio.gather(_send(nc, subjects, "P-pass", passing),
                                         _send(nc, subjects, "P-pass", passing))

    outcomes = sorted(type(r).__name__ for r in (first, second))
    assert outcomes == ["Accepted", "Rejected"]
    refused = first if isinstance(first, Rejected) else second
    assert isinstance(refused, Rejected) and refused.code == "rule_violation"
    events = [e.event for r in (await stages.load_project("P-pass")).records for e in r.commit.events]
    assert sum(isinstance(e, ev.StagePassed) for e in events) == 1


async def test_the_same_submission_sent_twice_at_once_is_appended_once(stages: EventLog, nc: NATS,
                                                                       subjects: Subjects) -> None:
    await _new_project(stages, "P-same")
    passing = cmd.PassStage(stage="site_selection")

    a, b = await asyncio.gather(_send(nc, subjects, "P-same", passing, key="k-1"),
                                _send(nc, subjects, "P-same", passing, key="k-1"))

    assert isinstance(a, Accepted) and isinstance(b, Accepted)
    assert a.event_ids == b.event_ids and a.project_version == b.project_version
    assert sum(1 for r in (await stages.load_project("P-same")).records if r.commit.idempotency_key == "k-1") == 1
    conflict = await _send(nc, subjects, "P-same", cmd.PassStage(stage="site_selection", report_ref="x"), key="k-1")
    assert isinstance(conflict, Rejected) and conflict.code == "idempotency_conflict"


async def test_a_command_for_an_unknown_project_is_rejected_with_a_reason(stages: EventLog, nc: NATS,
                                                                         subjects: Subjects) -> None:
    receipt = await _send(nc, subjects, "P-none", cmd.PassStage(stage="site_selection"))
    assert isinstance(receipt, Rejected) and receipt.code == "unknown_project"
    assert "no such project" in receipt.message


async def test_a_key_reused_on_another_project_is_a_conflict_not_a_silent_duplicate(stages: EventLog, nc: NATS,
                                                                                   subjects: Subjects) -> None:
    # Within JetStream's duplicate window the second append is dropped as a duplicate of the first
    # (the commit id comes from source and key alone): answering it "accepted" would lose it.
    await _new_project(stages, "P-key-a")
    await _new_project(stages, "P-key-b")
    passing = cmd.PassStage(stage="site_selection")
    first = await _send(nc, subjects, "P-key-a", passing, key="k-shared")

    again = await _send(nc, subjects, "P-key-b", passing, key="k-shared")

    assert isinstance(first, Accepted)
    assert isinstance(again, Rejected) and again.code == "idempotency_conflict", again
    assert again.field == "$.idempotency_key" and "P-key-a" in again.message
    events = [e.event for r in (await stages.load_project("P-key-b")).records for e in r.commit.events]
    assert not any(isinstance(e, ev.StagePassed) for e in events)


async def test_a_reaction_that_needs_next_years_calendar_waits_for_it_instead_of_being_dropped(
        stages: EventLog, nc: NATS, subjects: Subjects, monkeypatch: pytest.MonkeyPatch) -> None:
    # 28 December 2026: the first stage's due date falls in 2027, whose calendar is not published yet.
    # That reaction used to be acked and dropped, so the project never got its first stage.
    monkeypatch.setattr(stages_app, "UNKNOWN_YEAR_RETRY_S", 0.2)  # tried again at each nak
    late = dt.datetime(2026, 12, 28, 2, 0, tzinfo=dt.UTC)
    await stages.append(commit_after(await stages.load_project("P-dec"), "P-dec", [received("P-dec", at=late)]),
                        expected_version=0)
    # The reaction is tried and put back (each try asks the log whether it has a year more); nothing opens yet.
    await eventually(lambda: _redelivered(nc, subjects), what="the reaction tried and put back")
    assert not any(isinstance(e.event, ev.StageOpened)
                   for r in (await stages.load_project("P-dec")).records for e in r.commit.events)

    await stages.append(calendar_2027(), expected_version=0)

    events = await _wait_for(stages, "P-dec", ev.StageOpened)
    opened = [e for e in events if isinstance(e, ev.StageOpened)]
    assert [o.stage for o in opened] == ["site_selection"] and opened[0].due_on.year == 2027


async def _redelivered(nc: NATS, subjects: Subjects) -> bool | None:
    info = await nc.jetstream().consumer_info(subjects.events_stream, "stages-react")
    return True if info.num_redelivered > 0 else None


async def _replica(nc: NATS, subjects: Subjects, received_project: str | None = None) -> tuple[EventLog, Ports]:
    """One stages replica's log and ports; without a broker (the `stages` fixture starts one) it hears no
    calendar notice. Its calendar is read once. With `received_project`, that project's application is in the
    log first (received at AT)."""
    await provision(nc.jetstream(), subjects)
    log = EventLog(nc, subjects)
    if received_project is not None:
        await log.append(commit_after(await log.load_project(received_project), received_project,
                                      [received(received_project, at=AT)]), expected_version=0)
    calendar = CalendarSource(log)
    await calendar.refresh()
    return log, Ports(log=log, calendar=calendar, policy=load_policy())


async def test_a_command_whose_commit_landed_with_other_bytes_is_answered_from_the_log(
        nc: NATS, subjects: Subjects, monkeypatch: pytest.MonkeyPatch) -> None:
    # Another replica (another calendar version) wrote this submission's commit id with other bytes just
    # before: the append raises ChainMismatch. It escaped, no reply went out, and intake said "unavailable".
    log, ports = await _replica(nc, subjects, "P-cm")
    real_append = log.append

    async def other_replica_first(commit: Commit, *, expected_version: int) -> AppendResult:
        monkeypatch.setattr(log, "append", real_append)
        theirs = msgspec.structs.replace(  # the same commit id and submission, other bytes
            commit, events=[msgspec.structs.replace(e, actor="另一副本") for e in commit.events])
        await EventLog(nc, subjects).append(theirs, expected_version=expected_version)  # the other replica
        return await real_append(commit, expected_version=expected_version)  # raises the log's own ChainMismatch

    monkeypatch.setattr(log, "append", other_replica_first)
    submission = Submission(idempotency_key="k-cm", project_id="P-cm", occurred_at=AT, actor="李科员",
                            command=cmd.RaiseBlocker(blocker_id="b1", side="enterprise", cause="insufficient_funds",
                                                     department="招商部门"))
    receipt = await handle_workflow(WorkflowRequest(source="window", submission=submission, received_at=AT), ports)
    assert isinstance(receipt, Accepted) and receipt.duplicate, receipt
    assert sum(r.commit.idempotency_key == "k-cm" for r in (await log.load_project("P-cm")).records) == 1
    landed = (await log.load_project("P-cm")).records[-1]
    assert landed.commit.events[0].actor == "另一副本" and receipt.commit_hash == landed.hash  # the log's answer


async def test_a_command_needing_a_year_whose_notice_this_replica_missed_is_decided_with_it(
        nc: NATS, subjects: Subjects) -> None:
    # 2027 is published while this replica hears nothing (the notice is a core message: a replica that
    # was reconnecting misses it). A command whose due date falls in 2027 used to be refused
    # (rule_violation on occurred_at) until the replica restarted.
    log, ports = await _replica(nc, subjects, "P-cal")
    await log.append(calendar_2027(), expected_version=0)  # no subscriber: the notice goes nowhere
    late = dt.datetime(2026, 12, 28, 2, 0, tzinfo=dt.UTC)
    submission = Submission(idempotency_key="k-cal", project_id="P-cal", occurred_at=late, actor="李科员",
                            command=cmd.OpenStage(stage="site_selection"))
    receipt = await handle_workflow(WorkflowRequest(source="window", submission=submission, received_at=late), ports)
    assert isinstance(receipt, Accepted), receipt
    opened = [e.event for e in (await log.load_project("P-cal")).records[-1].commit.events]
    assert isinstance(opened[0], ev.StageOpened) and opened[0].due_on.year == 2027


async def test_a_reaction_needing_a_year_whose_notice_this_replica_missed_opens_with_it(
        nc: NATS, subjects: Subjects) -> None:
    # The reaction's side of the test above: 2027 published while this replica heard nothing.
    log, ports = await _replica(nc, subjects)
    await log.append(calendar_2027(), expected_version=0)  # no subscriber: the notice goes nowhere
    late = dt.datetime(2026, 12, 28, 2, 0, tzinfo=dt.UTC)
    commit = commit_after(await log.load_project("P-rx"), "P-rx", [received("P-rx", at=late)])
    await log.append(commit, expected_version=0)
    assert await react_to_commit(commit, ports) == 1
    opened = (await log.load_project("P-rx")).records[-1].commit.events[0].event
    assert isinstance(opened, ev.StageOpened) and opened.stage == "site_selection" and opened.due_on.year == 2027


async def test_a_calendar_correction_published_while_the_broker_reconnected_is_read_after_it(
        nc: NATS, subjects: Subjects, netcut: NetCut) -> None:
    # The notice of a publication is a core message. A replica whose connection was down when a year it
    # already had was corrected never heard of it, and decided with the old schedule until it restarted
    # (deciding() finds a year the copy lacks, not a correction of one it has).
    log, ports = await _replica(nc, subjects)
    june_first = dt.date(2026, 6, 1)  # a Monday, a working day in the shipped 2026 schedule
    assert ports.calendar.current.is_working_day(june_first)
    broker = build_broker(Settings(nats_url=netcut.url, prefix=subjects.prefix), ports)
    await broker.start()
    try:
        await confirm_subscriptions(broker.connection)
        netcut.cut_all(refuse=True)
        await until(lambda: not broker.connection.is_connected, what="the broker's connection down")
        shipped = WorkingCalendar.default()
        correction = calendar(2026, [*shipped.holidays(2026), june_first], list(shipped.workdays(2026)), at=AT,
                              commit_id="cal-2026-fix")
        await log.append(correction, expected_version=0)  # its notice reaches no one
        netcut.refusing = False

        await until(lambda: not ports.calendar.current.is_working_day(june_first), within=20,
                    what="the correction read after the reconnect")
        assert broker.connection.is_connected
    finally:
        with contextlib.suppress(nats.errors.ConnectionReconnectingError):  # a failed wait leaves it reconnecting
            await broker.stop()
