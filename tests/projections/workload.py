"""A realistic, deterministic stream of commits (a district bureau's year) and a pipelined appender.

Each project walks its track (site selection → land-use approval → land supply → planning
permit → rights registration, or the continuing track) to a random depth, with blockers,
suspensions, extensions, alerts and withdrawals along the way. Projects interleave in the log.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from collections.abc import Iterator

from nats.aio.client import Client as NATS

from contracts.codec import encode_commit
from contracts.envelope import Commit, Envelope
from contracts.events import (
    AlertSent,
    ApplicationReceived,
    ApplicationWithdrawn,
    BlockerRaised,
    BlockerResolved,
    ClockResumed,
    ClockSuspended,
    DeadlineExtended,
    Document,
    DomainEvent,
    KeyProject,
    StageOpened,
    StagePassed,
)
from contracts.subjects import HASH_HEADER, Subjects
from contracts.types import GENESIS_HASH, Track

DISTRICTS = ["白云区", "天河区", "黄埔区", "番禺区", "花都区", "南沙区",
             "从化区", "增城区", "越秀区", "海珠区", "荔湾区"]
DEPARTMENTS = {"site_selection": "规划审批科", "land_use_approval": "用地报批科", "land_supply": "土地供应科",
               "planning_permit": "建设工程规划科", "rights_registration": "不动产登记中心",
               "land_guarantee": "用地保障科", "planning_condition_verification": "规划条件核实科"}
DOCS = {"site_selection": ("site_selection_opinion", 4), "land_use_approval": ("land_use_planning_permit", 4),
        "planning_permit": ("engineering_planning_permit", 6), "land_supply": (None, 20),
        "rights_registration": ("real_estate_certificate", 5), "land_guarantee": (None, 20),
        "planning_condition_verification": ("condition_verification", 10)}
NEW = ["site_selection", "land_use_approval", "land_supply", "planning_permit", "rights_registration"]
CONT = ["land_guarantee", "planning_condition_verification"]
T0 = dt.datetime(2026, 1, 5, 1, 0, tzinfo=dt.UTC)


def _project_events(rng: random.Random, pid: str) -> Iterator[list[DomainEvent]]:
    track: Track = "continuing" if rng.random() < 0.25 else "new"
    chain = CONT if track == "continuing" else NEW
    depth = rng.randint(0, len(chain))
    day = dt.date(2026, 1, 5) + dt.timedelta(days=rng.randint(0, 300))
    key = KeyProject(leader="王副局长", section="重点项目科") if rng.random() < 0.1 else None
    land = round(rng.uniform(800, 90000), 2)
    yield [ApplicationReceived(
        name=f"{rng.choice(['黄边村', '三泉', '天力', '机场高速', '鹤龙'])}项目{pid}",
        enterprise=f"广州市{rng.choice(['城市更新', '建筑工程', '产业投资'])}有限公司", district=rng.choice(DISTRICTS),
        track=track, initiated=rng.random() < 0.7, key_project=key, land_area_m2=land,
        floor_area_m2=round(land * 2.5, 2), station=f"第{rng.randint(1, 11)}规划所",
        first_stages=[chain[0]])]
    for n, stage in enumerate(chain[: depth + 1]):
        limit = DOCS[stage][1]
        opened = day
        due = day + dt.timedelta(days=limit + 2)
        yield [StageOpened(stage=stage, department=DEPARTMENTS[stage], opened_on=opened, limit_days=limit,
                           statutory_days=30, due_on=due, rule=f"{limit} working days (seed 003)",
                           calendar_version="2026")]
        if rng.random() < 0.3:
            yield [BlockerRaised(blocker_id=f"b{n}", side=rng.choice(["government", "enterprise"]),
                                 cause=rng.choice(["land_reserve_unfinished", "land_not_cleared", "weak_willingness",
                                                   "insufficient_funds", "red_line_unstable"]),
                                 department=rng.choice(list(DEPARTMENTS.values())), due_on=due, stage=stage)]
            yield [BlockerResolved(blocker_id=f"b{n}", resolved_on=due)]
        if rng.random() < 0.2:
            yield [ClockSuspended(stage=stage, reason="expert_review", suspended_on=opened + dt.timedelta(days=1))]
            yield [ClockResumed(stage=stage, resumed_on=opened + dt.timedelta(days=4), suspended_working_days=3,
                                remaining_days=limit - 1, due_on=due + dt.timedelta(days=3), rule="resumed")]
        if rng.random() < 0.1:
            yield [DeadlineExtended(stage=stage, extra_days=2, approved_by="李局长", reason="专家论证",
                                    due_on=due + dt.timedelta(days=5))]
        if rng.random() < 0.15:
            yield [AlertSent(alert_key=f"{pid}:{stage}:yellow", deadline_kind="stage", deadline_ref=stage,
                             level="yellow", due_on=due, channel="wecom", recipient="张科长",
                             sent_at=T0 + dt.timedelta(days=(due - dt.date(2026, 1, 5)).days))]
        if n == depth or n >= len(chain):
            break
        used = rng.randint(1, limit + 3)
        kind = DOCS[stage][0]
        doc = Document(kind=kind, number=f"穗规{pid}-{n}", land_area_m2=land,
                       floor_area_m2=round(land * 2.5, 2)) if kind else None
        day = opened + dt.timedelta(days=used + 1)
        yield [StagePassed(stage=stage, passed_on=day, working_days_used=used, on_time=used <= limit,
                           early=used < limit, document=doc)]
    if rng.random() < 0.03:
        yield [ApplicationWithdrawn(reason="企业变更投资计划")]


def commits(seed: int, events: int, *, active: int = 500, prefix: str = "P") -> Iterator[tuple[Commit, int]]:
    """Commits (with their hash chain) until about `events` events; yields (commit, event count)."""
    rng = random.Random(seed)
    running: list[tuple[str, Iterator[list[DomainEvent]], list[object]]] = []
    made = started = 0
    while made < events:
        while len(running) < active and made < events:
            pid = f"{prefix}-{started:06d}"
            started += 1
            running.append((pid, _project_events(rng, pid), [0, GENESIS_HASH, T0 + dt.timedelta(minutes=started)]))
        i = rng.randrange(len(running))
        pid, gen, tip = running[i]
        batch = next(gen, None)
        if batch is None:
            running[i] = running[-1]
            running.pop()
            continue
        number, prev, at = tip
        assert isinstance(number, int) and isinstance(prev, str) and isinstance(at, dt.datetime)
        at = at + dt.timedelta(hours=rng.randint(1, 60))
        envs = [Envelope(event_id=f"{pid}-{number + 1}-{k}", project_id=pid, occurred_at=at, actor="张科长",
                         source=rng.choice(["window", "land", "permit"]), correlation_id=f"{pid}-corr",
                         causation_id=f"{pid}-{number}", event=e) for k, e in enumerate(batch)]
        commit = Commit(commit_id=f"{pid}-{number + 1}", key=pid, number=number + 1, prev_hash=prev, events=envs)
        _, digest = encode_commit(commit)
        tip[:] = [number + 1, digest, at]
        made += len(envs)
        yield commit, len(envs)


async def append_all(nc: NATS, subjects: Subjects, stream: Iterator[tuple[Commit, int]], *, window: int = 512) -> int:
    """Pipelined appends on one connection (order per project is the publish order); returns events."""
    inbox = nc.new_inbox()
    slots = asyncio.Semaphore(window)
    errors: list[bytes] = []
    pending = 0
    drained = asyncio.Event()
    drained.set()

    async def on_ack(msg: object) -> None:
        nonlocal pending
        data = getattr(msg, "data", b"")
        if b'"error"' in data:
            errors.append(data)
        pending -= 1
        slots.release()
        if pending == 0:
            drained.set()

    sub = await nc.subscribe(inbox + ".*", cb=on_ack)
    total = 0
    for n, (commit, count) in enumerate(stream):
        await slots.acquire()
        pending += 1
        drained.clear()
        body, digest = encode_commit(commit)
        await nc.publish(subjects.project(commit.key), body, reply=f"{inbox}.{n}",
                         headers={"Nats-Msg-Id": commit.commit_id, HASH_HEADER: digest})
        total += count
    await nc.flush()
    await asyncio.wait_for(drained.wait(), 60)
    await sub.unsubscribe()
    if errors:
        raise RuntimeError(f"{len(errors)} appends failed, first: {errors[0]!r}")
    return total
