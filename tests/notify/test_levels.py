"""Alert levels in working days of the official calendar, across National Day 2026 and its make-up Saturday."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from ledger.workdays import WorkingCalendar
from services.notify.deadlines import Deadline
from services.notify.levels import plan
from services.notify.policy import AlertPolicy, PolicyError, load_policy, parse_policy

CAL = WorkingCalendar.default()


def stage(due: dt.date, *, on: dt.date = dt.date(2026, 9, 21), limit: int | None = 6) -> Deadline:
    return Deadline("P1", "stage", "site_selection", "用地科", on, due, limit)


def test_levels_fall_on_working_days_across_national_day_and_the_make_up_saturday() -> None:
    levels = {p.level: p.fire_on for p in plan(stage(dt.date(2026, 9, 30)), CAL, AlertPolicy(escalate_after_days=2))}
    assert levels == {"yellow": dt.date(2026, 9, 28), "red": dt.date(2026, 9, 30),
                      "overdue": dt.date(2026, 10, 8), "escalation": dt.date(2026, 10, 10)}


def test_fire_instant_is_the_policy_time_in_shanghai() -> None:
    red = next(p for p in plan(stage(dt.date(2026, 9, 30)), CAL, AlertPolicy()) if p.level == "red")
    assert red.fire_at == dt.datetime(2026, 9, 30, 1, 0, tzinfo=dt.UTC)


def test_share_of_the_limit_can_warn_earlier_than_days_before() -> None:
    d = stage(CAL.add_working_days(dt.date(2026, 3, 2), 20), on=dt.date(2026, 3, 2), limit=20)
    yellow = next(p for p in plan(d, CAL, AlertPolicy(yellow_days_before=2, yellow_share=0.5)) if p.level == "yellow")
    assert yellow.fire_on == CAL.add_working_days(dt.date(2026, 3, 2), 10)


def test_a_short_limit_has_no_yellow_and_a_suspended_or_closed_deadline_has_no_alerts() -> None:
    short = stage(dt.date(2026, 9, 22), limit=1)
    assert [p.level for p in plan(short, CAL, AlertPolicy())] == ["red", "overdue", "escalation"]
    assert plan(Deadline("P", "stage", "s", "d", dt.date(2026, 9, 21), dt.date(2026, 9, 30), 6, "suspended"),
                CAL, AlertPolicy()) == []


def test_a_due_day_on_a_holiday_warns_red_on_the_last_working_day_before() -> None:
    blocker = Deadline("P", "blocker", "b1", "土地储备中心", dt.date(2026, 9, 1), dt.date(2026, 10, 3))
    levels = {p.level: p.fire_on for p in plan(blocker, CAL, AlertPolicy())}
    assert levels["red"] == dt.date(2026, 9, 30)
    assert levels["overdue"] == dt.date(2026, 10, 8)


def test_the_shipped_policy_loads() -> None:
    assert load_policy().version


@pytest.mark.parametrize(("raw", "named"), [
    ({"yellow_days_before": -1}, "yellow_days_before"),
    ({"yellow_share": 1.5}, "yellow_share"),
    ({"fire_time": "nine"}, "fire_time"),
    ({"overdue_after_days": 0}, "overdue_after_days"),
    ({"escalate_after": 3}, "escalate_after"),
])
def test_a_bad_policy_names_the_key_and_the_value(raw: dict[str, object], named: str) -> None:
    with pytest.raises(PolicyError, match=named):
        parse_policy(raw)


def test_a_policy_file_that_is_not_toml_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "policy.toml"
    bad.write_text("yellow_days_before = = 2")
    with pytest.raises(PolicyError, match=r"policy\.toml"):
        load_policy(bad)


def test_the_example_routes_file_parses_with_its_secrets_file(tmp_path: Path) -> None:
    from services.notify.config import NotifyConfigError, load_config
    from tests.conftest import repo_root

    example = repo_root() / "config" / "notify.example.toml"
    with pytest.raises(NotifyConfigError, match="ding_leaders"):
        load_config(example)
    secrets = tmp_path / "notify-secrets.toml"
    secrets.write_text('ding_leaders = "a"\nfeishu_duban = "b"\nsmtp_password = "c"\noa_webhook = "d"\n')
    config = load_config(example, secrets)
    assert set(config.targets) >= {"yongdi_wecom", "leaders_dingtalk", "duban_feishu", "duban_mail", "oa_webhook"}
    assert [t.name for t in config.targets_for(department="用地科", level="escalation", kind="stage",
                                               project_id="P", key_project=True)] == \
        ["duban_feishu", "duban_mail", "oa_webhook", "leaders_dingtalk"]
