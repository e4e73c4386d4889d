"""`ledger submit` and `ledger rejected` against a running intake, as an operator would use them."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from nats.aio.client import Client as NATS

from contracts.subjects import Subjects
from ledger.cli.rejected import _time
from ledger.clock import BUREAU_TZ
from ledger.projection.asof import parse_as_of
from services.intake.app import Running
from tests.cli import ledger_cli
from tests.intake import builders as b
from tests.intake.conftest import SOURCES, AuthServer


async def test_submit_prints_the_receipt_and_rejected_lists_refusals(
    intake: Running, auth_server: AuthServer, admin: NATS, subjects: Subjects, tmp_path: Path
) -> None:
    sources = tmp_path / "sources.toml"
    sources.write_text("".join(f'[sources.{s.id}]\npassword = "{s.password}"\n' for s in SOURCES.values()))
    env = {"LEDGER_NATS_URL": auth_server.url, "LEDGER_PREFIX": subjects.prefix, "LEDGER_SOURCES_FILE": str(sources),
           "LEDGER_NATS_USER": "admin", "LEDGER_NATS_PASSWORD": auth_server.passwords["admin"]}
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_bytes(b.raw(b.submit_app("C-1")))
    bad.write_bytes(b"{\"project_id\": 5}")

    code, out, _ = await ledger_cli(env, "submit", "--source", "window", str(good))
    assert code == 0 and json.loads(out)["status"] == "accepted"
    code, out, _ = await ledger_cli(env, "submit", "--source", "landsys", str(bad))
    assert code == 1 and json.loads(out)["code"] == "invalid_field"
    code, _, err = await ledger_cli(env, "submit", "--source", "nobody", str(good))
    assert code == 1 and "not in" in err

    code, out, _ = await ledger_cli(env, "rejected", "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [(r["source"], r["code"], r["raw"]) for r in rows] == [
        ("landsys", "invalid_field", '{"project_id": 5}')]
    code, out, _ = await ledger_cli(env, "rejected", "--source", "window")
    assert code == 0 and out == ""
    code, out, _ = await ledger_cli(env, "rejected", "--since", "2999-01-01T00:00:00Z")
    assert code == 0 and out == ""
    code, out, _ = await ledger_cli(env, "rejected", "--source", "landsys")
    assert "invalid_field [$.project_id]" in out


def test_rejected_since_reads_times_without_an_offset_in_the_bureaus_zone_like_as_of() -> None:
    assert _time("2026-03-01T08:00") == dt.datetime(2026, 3, 1, 0, 0, tzinfo=dt.UTC)
    assert _time("2026-03-01") == dt.datetime(2026, 3, 1, tzinfo=BUREAU_TZ)
    assert _time("2026-03-01T08:00Z") == dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)
    assert _time("2026-03-01T08:00") == parse_as_of("2026-03-01T08:00").at
