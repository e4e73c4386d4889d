"""Verify names the first break exactly, in the archive and in an export checked offline."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from ledger.clock import FixedClock
from ledger.eventlog import EventLog
from ledger.projection.audit import verify
from ledger.projection.export import export, verify_export
from ledger.projection.signing import Signer
from tests.factories import T0
from tests.projections.conftest import fill
from tests.projections.live import caught_up, live_projector


@pytest.fixture
async def projected(log: EventLog, conn: asyncpg.Connection, nats_url: str, ledger_db: str, tmp_path: Path) -> str:
    await fill(log, 600)
    async with live_projector(log, nats_url, ledger_db, tmp_path, checkpoint_every=100):
        await caught_up(conn, log)
    return str(await conn.fetchval("SELECT schema FROM ledger_meta.live"))


@pytest.mark.parametrize("field", ["actor", "payload", "commit_hash", "recorded_at"])
async def test_one_changed_byte_in_the_archive_is_reported_as_that_record_and_field(
    log: EventLog, conn: asyncpg.Connection, projected: str, field: str
) -> None:
    clean = await verify(conn, log, projected)
    assert clean.first_break is None and clean.checkpoints >= 5 and clean.archive_rows == 600
    row = await conn.fetchrow(f"SELECT seq, key FROM {projected}.archive WHERE seq = 321 AND idx = 0")
    change = {
        "actor": "actor = overlay(actor placing 'X' from 1 for 1)",
        "payload": "payload = (overlay(payload::text placing ' ' from 2 for 0))::jsonb || '{\"x\": 1}'",
        "commit_hash": "commit_hash = overlay(commit_hash placing 'f' from 7 for 1)",
        "recorded_at": "recorded_at = recorded_at + interval '1 microsecond'",
    }[field]
    if field == "commit_hash":  # make sure the byte really changes
        change = "commit_hash = overlay(commit_hash placing (CASE WHEN substr(commit_hash, 7, 1) = 'f' " \
                 "THEN 'e' ELSE 'f' END) from 7 for 1)"
    async with conn.transaction():  # as superuser, with the trigger off for this test only
        await conn.execute(f"ALTER TABLE {projected}.archive DISABLE TRIGGER archive_insert_only")
        await conn.execute(f"UPDATE {projected}.archive SET {change} WHERE seq = 321 AND idx = 0")
        await conn.execute(f"ALTER TABLE {projected}.archive ENABLE TRIGGER archive_insert_only")

    report = await verify(conn, log, projected)

    assert report.first_break is not None
    assert (report.first_break.seq, report.first_break.project, report.first_break.field) == (321, row["key"], field)


async def test_an_export_verifies_offline_and_one_flipped_byte_names_its_record(
    log: EventLog, conn: asyncpg.Connection, projected: str, tmp_path: Path
) -> None:
    signer = Signer.load_or_create(tmp_path / "keys" / "bureau-ed25519.pem")  # the service's key
    out = tmp_path / "export"
    out.mkdir()
    assert await export(conn, log, 450, out, signer, FixedClock(T0)) == 450
    entries, checked, first = verify_export(out)
    assert (entries, checked, first) == (450, 5, None)  # 100..400 by the service, 450 at export

    original = (out / "events.log").read_bytes()
    lines = original.split(b"\n")
    body_at = lines[199].index(b'"actor":"') + len(b'"actor":"')
    lines[199] = lines[199][:body_at] + bytes([lines[199][body_at] ^ 0x01]) + lines[199][body_at + 1:]
    (out / "events.log").write_bytes(b"\n".join(lines))
    first = verify_export(out)[2]
    assert first is not None and (first.seq, first.field) == (200, "body")

    lines = original.split(b"\n")
    hash_at = lines[299].index(b"\t", lines[299].index(b"\t") + 1) + 5
    lines[299] = lines[299][:hash_at] + (b"0" if lines[299][hash_at:hash_at + 1] != b"0" else b"1") \
        + lines[299][hash_at + 1:]
    (out / "events.log").write_bytes(b"\n".join(lines))
    first = verify_export(out)[2]
    assert first is not None and (first.seq, first.field) == (300, "hash")
