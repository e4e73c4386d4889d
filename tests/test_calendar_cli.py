"""`ledger calendar publish FILE` / `show YEAR` against the real server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from contracts.subjects import Subjects
from ledger.cli import main

SCHEDULE_2027 = {
    "year": 2027,
    "holidays": ["2027-01-01", "2027-02-06", "2027-02-07", "2027-02-08", "2027-02-09", "2027-02-10",
                 "2027-10-01", "2027-10-04", "2027-10-05"],
    "workdays": ["2027-02-20", "2027-10-09"],
    "source_document": "国务院办公厅关于2027年部分节假日安排的通知（测试样例）",
}


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, nats_url: str, subjects: Subjects) -> Subjects:
    monkeypatch.setenv("LEDGER_NATS_URL", nats_url)
    monkeypatch.setenv("LEDGER_PREFIX", subjects.prefix)
    return subjects


def _provision(nats_url: str, subjects: Subjects) -> None:
    import asyncio

    import nats

    from ledger.eventlog import provision

    async def go() -> None:
        nc = await nats.connect(nats_url)
        await provision(nc.jetstream(), subjects)
        await nc.close()

    asyncio.run(go())


def test_publishing_a_new_year_makes_it_known_and_a_second_publication_needs_correction(
    env: Subjects, nats_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _provision(nats_url, env)
    file = tmp_path / "2027.json"
    file.write_text(json.dumps(SCHEDULE_2027, ensure_ascii=False))

    assert main(["calendar", "show", "2027"]) == 1
    assert "no official working-day calendar for 2027" in capsys.readouterr().err

    assert main(["calendar", "publish", str(file), "--actor", "督查室"]) == 0
    assert "published the 2027 calendar: 9 holidays, 2 make-up working days" in capsys.readouterr().out

    assert main(["calendar", "show", "2027", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["holidays"][0] == "2027-01-01" and shown["workdays"] == SCHEDULE_2027["workdays"]
    assert shown["version"].endswith("+2027@1")
    # 2027 has 261 weekdays; 7 of the 9 holidays fall on weekdays (02-06/07 are a weekend); +2 make-up Saturdays
    assert shown["working_days"] == 261 - 7 + 2

    assert main(["calendar", "publish", str(file)]) == 1
    assert "publish it as a correction" in capsys.readouterr().err
    assert main(["calendar", "publish", str(file), "--correction"]) == 0


def test_a_schedule_file_with_a_contradiction_is_refused_naming_the_date(
    env: Subjects, nats_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _provision(nats_url, env)
    bad = dict(SCHEDULE_2027, workdays=["2027-01-01"])
    file = tmp_path / "bad.json"
    file.write_text(json.dumps(bad))
    assert main(["calendar", "publish", str(file)]) == 1
    assert "2027-01-01" in capsys.readouterr().err

    file.write_text('{"year": "2027"}')
    assert main(["calendar", "publish", str(file)]) == 1
    assert "Expected `int`, got `str` - at `$.year`" in capsys.readouterr().err
