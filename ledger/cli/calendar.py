"""`ledger calendar publish FILE` and `ledger calendar show YEAR`: the official working-day schedule."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import getpass
import json
import uuid
from pathlib import Path

import msgspec

from contracts.envelope import Envelope
from contracts.events import CalendarPublished
from ledger.calendar_log import CalendarSource
from ledger.cli.common import CliError, Subparsers
from ledger.cli.connect import event_log
from ledger.eventlog import next_commit
from ledger.settings import load_settings
from ledger.workdays import CalendarError, UnknownYear, WorkingCalendar


class ScheduleFile(msgspec.Struct, forbid_unknown_fields=True):
    """The file an operator publishes: the State Council's notice for one year."""

    year: int
    holidays: list[dt.date]
    workdays: list[dt.date]
    source_document: str = ""


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser("calendar", help="show or publish the official working-day calendar")
    sub = parser.add_subparsers(dest="calendar_command", metavar="<action>", required=True)
    publish = sub.add_parser(
        "publish", help="append a year's schedule (CalendarPublished) to the log",
        description='FILE is JSON: {"year": 2027, "holidays": ["2027-01-01", …], "workdays": ["2027-02-07", …], '
                    '"source_document": "国务院办公厅通知 …"}. holidays are the days off; workdays are the '
                    "weekend days made working days (调休). A year already known is refused unless --correction.")
    publish.add_argument("file", type=Path)
    publish.add_argument("--correction", action="store_true", help="replace a year that is already published")
    publish.add_argument("--actor", default=None, help="who publishes (default: the login name)")
    publish.set_defaults(handler=run_publish)
    show = sub.add_parser("show", help="print a year's holidays, make-up working days and working-day count")
    show.add_argument("year", type=int)
    show.add_argument("--json", action="store_true", help="machine-readable output")
    show.set_defaults(handler=run_show)


def read_schedule(path: Path) -> ScheduleFile:
    try:
        return msgspec.json.decode(path.read_bytes(), type=ScheduleFile)
    except FileNotFoundError:
        raise CliError(f"{path}: no such file") from None
    except msgspec.ValidationError as err:
        raise CliError(f"{path}: {err}") from None
    except msgspec.DecodeError as err:
        raise CliError(f"{path}: not valid JSON ({err})") from None


async def _publish(args: argparse.Namespace) -> int:
    schedule = read_schedule(args.file)
    async with event_log(load_settings()) as log:
        if log is None:
            raise CliError("the event log is not reachable")
        current = await CalendarSource(log).refresh()
        try:
            current.with_year(schedule.year, schedule.holidays, schedule.workdays, correction=args.correction)
        except CalendarError as err:
            raise CliError(f"{args.file}: {err}") from None
        loaded = await log.load("calendar", str(schedule.year))
        commit_id = str(uuid.uuid4())
        now = dt.datetime.now(dt.UTC)
        event = CalendarPublished(year=schedule.year, holidays=sorted(schedule.holidays),
                                  workdays=sorted(schedule.workdays), source_document=schedule.source_document)
        envelope = Envelope(event_id=str(uuid.uuid4()), project_id=None, occurred_at=now,
                            actor=args.actor or getpass.getuser(), source="operator", event=event)
        commit = next_commit(loaded, commit_id=commit_id, key=str(schedule.year), events=[envelope], kind="calendar")
        done = await log.append(commit, expected_version=loaded.version)
    print(f"published the {schedule.year} calendar: {len(schedule.holidays)} holidays, "
          f"{len(schedule.workdays)} make-up working days (log sequence {done.seq})")
    return 0


def describe(calendar: WorkingCalendar, year: int) -> dict[str, object]:
    first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
    return {
        "year": year,
        "version": calendar.version,
        "holidays": [d.isoformat() for d in calendar.holidays(year)],
        "workdays": [d.isoformat() for d in calendar.workdays(year)],
        "working_days": calendar.working_days_between(first - dt.timedelta(days=1), last),
    }


async def _show(args: argparse.Namespace) -> int:
    async with event_log(load_settings(), required=False) as log:
        calendar = await CalendarSource(log).refresh() if log is not None else WorkingCalendar.default()
    try:
        info = describe(calendar, args.year)
    except UnknownYear as err:
        raise CliError(str(err)) from None
    if args.json:
        print(json.dumps(info, ensure_ascii=False, indent=2))
        return 0
    print(f"{args.year}: {info['working_days']} working days ({calendar.version})"
          + ("" if log is not None else " — the event log was not reachable: shipped calendar only"))
    print("holidays:         " + " ".join(str(d)[5:] for d in info["holidays"]))  # type: ignore[attr-defined]
    print("make-up workdays: " + " ".join(str(d)[5:] for d in info["workdays"]))  # type: ignore[attr-defined]
    return 0


def run_publish(args: argparse.Namespace) -> int:
    return asyncio.run(_publish(args))


def run_show(args: argparse.Namespace) -> int:
    return asyncio.run(_show(args))
