"""Submissions as a publishing system would write them (JSON bytes)."""

from __future__ import annotations

import json
import uuid
from typing import Any

T = "2026-03-02T09:30:00+08:00"


def submit_app(pid: str, key: str | None = None, **over: Any) -> dict[str, Any]:
    return {
        "idempotency_key": key or uuid.uuid4().hex,
        "project_id": pid,
        "occurred_at": T,
        "actor": "窗口受理员 李四",
        "command": {"type": "SubmitApplication", "name": "黄边村城市更新项目", "enterprise": "广州某城市更新有限公司",
                    "district": "白云区", "track": "new", "project_kind": "urban_renewal"},
        **over,
    }


def withdraw(pid: str, key: str | None = None) -> dict[str, Any]:
    return {"idempotency_key": key or uuid.uuid4().hex, "project_id": pid, "occurred_at": T, "actor": "企业代表",
            "command": {"type": "WithdrawApplication", "reason": "投资计划调整"}}


def supply(pid: str, key: str | None = None, docs: tuple[str, ...] = ("用地红线图",)) -> dict[str, Any]:
    return {"idempotency_key": key or uuid.uuid4().hex, "project_id": pid, "occurred_at": T, "actor": "登记员",
            "command": {"type": "SupplyDocuments", "documents": list(docs)}}


def pass_stage(pid: str, stage: str = "land_supply", key: str | None = None) -> dict[str, Any]:
    return {"idempotency_key": key or uuid.uuid4().hex, "project_id": pid, "occurred_at": T, "actor": "科长",
            "command": {"type": "PassStage", "stage": stage}}


def raw(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, ensure_ascii=False).encode()
