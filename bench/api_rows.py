"""Rows for the read-API benchmark: N projects with stages, blockers, history, figures — written with COPY."""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from ledger.classify import CATEGORIES
from tests.api.rows import row

DISTRICTS = ("白云区", "越秀区", "海珠区", "天河区", "黄埔区", "番禺区", "花都区", "南沙区", "从化区", "增城区",
             "荔湾区")
STAGES = ("site_selection", "land_use_approval", "land_supply", "planning_permit", "rights_registration")
DEPARTMENTS = ("规划选址科", "用途管制科", "土地利用科", "建筑工程规划管理科", "不动产登记中心", "详细规划科")
CAUSES = ("land_reserve_unfinished", "land_not_cleared", "red_line_unstable", "weak_willingness", "insufficient_funds")
T0 = dt.datetime(2026, 1, 5, 1, 0, tzinfo=dt.UTC)


def project_rows(n: int, seed: int = 1) -> Iterator[tuple[str, list[tuple[Any, ...]]]]:
    """(table, rows) batches for n projects: ~2 stages, ~0.2 blockers and 4 archive events per project."""
    rng = random.Random(seed)
    today = dt.date(2026, 11, 21)
    batch: dict[str, list[tuple[Any, ...]]] = {"projects": [], "project_stages": [], "project_blockers": [],
                                               "archive": []}
    seq = 0
    for i in range(n):
        pid = f"GZ-{i:07d}"
        depth = rng.randint(0, 4)
        received = dt.date(2026, 1, 5) + dt.timedelta(days=rng.randint(0, 300))
        due = received + dt.timedelta(days=rng.randint(5, 60))
        gov, ent = rng.random() < 0.1, rng.random() < 0.05
        batch["projects"].append(row(
            "projects", id=pid, name=f"项目{i:07d}{rng.choice(('产业园', '安置房', '学校', '物流中心'))}",
            enterprise=f"广州企业{i % 5000:04d}有限公司", district=rng.choice(DISTRICTS), track="new",
            category=rng.choice(CATEGORIES)[0], key_project=rng.random() < 0.05, received_on=received,
            passed_stages=list(STAGES[:depth]), open_stages=[STAGES[depth]], next_due_on=due,
            next_due_ref=STAGES[depth], open_gov_blockers=int(gov), open_ent_blockers=int(ent)))
        for k, stage in enumerate(STAGES[:depth + 1]):
            passed = k < depth
            batch["project_stages"].append(row(
                "project_stages", project_id=pid, stage=stage, status="passed" if passed else "open",
                department=DEPARTMENTS[k], opened_on=received, due_on=due,
                passed_on=received + dt.timedelta(days=3) if passed else None, on_time=True if passed else None))
        if gov or ent:
            batch["project_blockers"].append(row(
                "project_blockers", project_id=pid, blocker_id="b1", side="government" if gov else "enterprise",
                cause=rng.choice(CAUSES), due_on=today - dt.timedelta(days=rng.randint(-20, 20)), raised_on=received))
        for idx, kind in enumerate(("ApplicationReceived", "StageOpened", "StagePassed", "StageOpened")):
            seq += 1
            at = T0 + dt.timedelta(minutes=seq)
            batch["archive"].append(row(
                "archive", seq=seq, idx=0, key=pid, project_id=pid, commit_id=f"c{seq}", commit_number=idx + 1,
                type=kind, occurred_at=at, recorded_at=at, event_id=f"e{seq}",
                payload=json.dumps({"stage": STAGES[min(idx, depth)]}, ensure_ascii=False)))
        if len(batch["projects"]) >= 10_000:
            yield from batch.items()
            batch = {k: [] for k in batch}
    yield from batch.items()


def figure_rows() -> Iterator[tuple[str, list[tuple[Any, ...]]]]:
    months = [dt.date(2026, m, 1) for m in range(1, 12)]
    yield "department_month", [row("department_month", department=d, month=m, completed=100, on_time=90 + i,
                                   early=40, late=10 - i) for i, d in enumerate(DEPARTMENTS) for m in months]
    kinds = ("site_selection_opinion", "land_use_planning_permit")
    yield "permits", [row("permits", kind=k, month=m, district=d, issued=3, land_area_m2=Decimal("1000.50"),
                          floor_area_m2=Decimal("2000.00")) for k in kinds for m in months for d in DISTRICTS]
