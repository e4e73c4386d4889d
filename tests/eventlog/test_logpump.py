"""The rebuild's reader process hands over exactly what the in-process reader reads."""

from __future__ import annotations

import pytest

from contracts.envelope import Recorded
from ledger.eventlog import EventLog
from ledger.logpump import PumpError, PumpReader
from ledger.logreader import LogReader
from ledger.logtime import ack_fields
from tests.eventlog.test_replay import _fill


async def _all(reader: LogReader | PumpReader, most: int) -> list[Recorded]:
    await reader.start()
    out: list[Recorded] = []
    try:
        while records := await reader.take(most):
            out.extend(records)
    finally:
        await reader.close()
    return out


async def test_the_pump_reads_the_same_records_as_the_in_process_reader(log: EventLog) -> None:
    await _fill(log, projects=7, per_project=6)  # 42 commits

    direct = await _all(LogReader(log, from_seq=5, until_seq=40), 1000)
    pumped = await _all(PumpReader(log, from_seq=5, until_seq=40, frame_size=4), 3)  # frames split unevenly

    assert [r.seq for r in pumped] == list(range(5, 41))
    assert pumped == direct  # seq, subject, recorded time, hash of the stored bytes, decoded commit
    assert await _all(PumpReader(log, from_seq=43), 10) == []


async def test_a_reader_process_that_cannot_read_fails_with_its_reason(log: EventLog) -> None:
    await _fill(log, projects=1, per_project=2)
    reader = PumpReader(log, until_seq=2)
    reader.log = EventLog(log.nc, log.subjects.__class__(prefix=log.subjects.prefix + "missing"))

    with pytest.raises(PumpError, match="exit") as err:
        await _all(reader, 10)
    assert "stream not found" in str(err.value).lower()


def test_ack_subject_fields_in_both_layouts() -> None:
    assert ack_fields("$JS.ACK.EVENTS.c1.1.42.40.1700000000123456789.7") == (42, 1700000000123456789, 7)
    assert ack_fields("$JS.ACK.dom.acchash.EVENTS.c1.1.42.40.1700000000123456789.7.tok") == (
        42, 1700000000123456789, 7)
