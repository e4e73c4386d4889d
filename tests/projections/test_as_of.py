"""`--as-of`: a time is that instant; a date alone is the whole of that day in the bureau's zone (+08:00)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import asyncpg
import pytest

from contracts.envelope import Recorded
from ledger.clock import BUREAU_TZ, local_date
from ledger.eventlog import EventLog
from ledger.logtime import from_unix_nanos
from ledger.projection import catalog, query
from ledger.projection.asof import parse_as_of
from ledger.projection.build import as_of_filter, build
from tests.cli import ledger_cli, ledger_env
from tests.projections.workload import append_all, commits


def _nanos(at: dt.datetime) -> int:
    return (at - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(microseconds=1) * 1000


def _recorded(at: dt.datetime) -> Recorded:
    commit, _ = next(commits(1, 1))
    return Recorded(seq=1, subject="x.project.P1", recorded_at=at, hash="0" * 64, commit=commit)


def _kept(at: dt.datetime, raw: str) -> bool:
    rec = _recorded(at)
    return as_of_filter(parse_as_of(raw).at, "recorded")(rec, rec.commit.events[0])


def test_a_date_alone_means_up_to_the_end_of_that_day_in_the_bureaus_zone() -> None:
    as_of = parse_as_of("2026-03-01")

    assert as_of.day == dt.date(2026, 3, 1)
    assert as_of.at == dt.datetime(2026, 3, 1, 23, 59, 59, 999_999, tzinfo=BUREAU_TZ)
    assert local_date(as_of.at) == dt.date(2026, 3, 1)  # an audit build's as-of day is still 1 March
    assert as_of.describe() == "as of 2026-03-01 end of day (before 2026-03-02T00:00:00+08:00)"


def test_a_date_alone_includes_everything_recorded_that_day_and_nothing_from_the_next() -> None:
    midnight = dt.datetime(2026, 3, 2, tzinfo=BUREAU_TZ)
    # the log's times come in nanoseconds and are floored to microseconds: the boundary is exact
    last_nanosecond = from_unix_nanos(_nanos(midnight) - 1)
    next_day = from_unix_nanos(_nanos(midnight))

    assert _kept(dt.datetime(2026, 3, 1, tzinfo=BUREAU_TZ), "2026-03-01")
    assert _kept(dt.datetime(2026, 3, 1, 12, tzinfo=BUREAU_TZ), "2026-03-01")
    assert _kept(last_nanosecond, "2026-03-01")
    assert not _kept(next_day, "2026-03-01")
    assert not _kept(midnight + dt.timedelta(hours=1), "2026-03-01")
    assert not _kept(dt.datetime(2026, 3, 1, 12, tzinfo=BUREAU_TZ), "2026-02-28")


@pytest.mark.parametrize(("raw", "expected"), [
    ("2026-03-01T00:00:00+08:00", dt.datetime(2026, 3, 1, tzinfo=BUREAU_TZ)),
    ("2026-03-01T00:00", dt.datetime(2026, 3, 1, tzinfo=BUREAU_TZ)),  # a time, not a date: that very instant
    ("2026-03-01T09:30:15.5", dt.datetime(2026, 3, 1, 9, 30, 15, 500_000, tzinfo=BUREAU_TZ)),
    ("2026-03-01T01:30:00Z", dt.datetime(2026, 3, 1, 1, 30, tzinfo=dt.UTC)),
])
def test_a_full_time_keeps_its_exact_meaning(raw: str, expected: dt.datetime) -> None:
    as_of = parse_as_of(raw)

    assert as_of.at == expected and as_of.day is None
    assert as_of.describe() == f"as of {expected.isoformat()} (up to and including that instant)"


def test_anything_else_is_refused_with_both_forms_named() -> None:
    with pytest.raises(ValueError, match=r"2026-03-01 .*the whole day.*2026-03-01T09:30:00"):
        parse_as_of("1 March")


async def test_the_cli_read_as_of_a_date_includes_what_was_recorded_on_that_day(
    log: EventLog, conn: asyncpg.Connection, ledger_db: str, nats_url: str, tmp_path: Path
) -> None:
    await append_all(log.nc, log.subjects, commits(11, 300))
    last = await log.get(await log.last_seq())
    assert last is not None
    day = local_date(last.recorded_at)  # the day (+08:00) the log recorded its newest commit on
    pid = str(last.commit.key)
    everything = await query.as_of(log, pid, last.recorded_at)
    assert everything is not None
    env = ledger_env(nats_url, ledger_db, log.subjects.prefix, tmp_path)

    said = f"as of {day} end of day (before {day + dt.timedelta(days=1)}T00:00:00+08:00), by recorded time"
    shown = await ledger_cli(env, "show", pid, "--as-of", day.isoformat(), "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["version"] == everything.version
    assert said in shown.stderr
    human = await ledger_cli(env, "show", pid, "--as-of", day.isoformat())
    assert human.returncode == 0 and human.stdout.startswith(said), human.stdout + human.stderr
    first = await log.get(1)
    assert first is not None
    day_before = local_date(first.recorded_at) - dt.timedelta(days=1)
    before = await ledger_cli(env, "show", pid, "--as-of", day_before.isoformat())
    assert before.returncode == 1 and "not in the ledger as of" in before.stderr

    replay = await ledger_cli(env, "replay", "--as-of", day.isoformat(), "--into", "audit_day")
    assert replay.returncode == 0, replay.stderr
    assert said in replay.stderr
    full = await build(conn, log, name="audit_all", switch=False)
    audit = await conn.fetchrow("SELECT as_of, certificate FROM ledger_meta.builds WHERE name = 'audit_day'")
    assert audit["certificate"] == full.certificate  # every commit recorded that day (and before) is in it
    assert local_date(audit["as_of"]) == day

    # The build shows the entry the fold above showed.
    from_build = await ledger_cli(env, "show", pid, "--schema", "audit_day", "--json")
    assert from_build.returncode == 0, from_build.stderr
    assert json.loads(from_build.stdout)["version"] == json.loads(shown.stdout)["version"]
    # A build the catalog does not hold ready is refused as the read API refuses it: one being built, or none.
    await catalog.new_build(conn, name="half_built", kind="audit")
    for name, said_why in (("half_built", "build 'half_built' is building, not ready"),
                           ("nope", "no build named 'nope' in the catalog")):
        refused = await ledger_cli(env, "show", pid, "--schema", name)
        assert refused.returncode == 1 and f"--schema: {said_why}" in refused.stderr, refused.stderr
