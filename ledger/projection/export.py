"""`ledger export` and `ledger verify --export`: what an outside auditor checks with no server at all.

DIR/events.log has one line per log entry: `seq TAB recorded_at TAB sha256 TAB commit bytes`
(the canonical JSON exactly as stored; it holds no raw newline or tab). DIR/checkpoints.json has
the signed Merkle checkpoints up to the export's end, DIR/public_key.pem the bureau's key.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import asyncpg
import msgspec

from contracts.codec import decode_commit, encode_commit, sha256_hex
from contracts.types import GENESIS_HASH
from ledger.clock import Clock
from ledger.eventlog import EventLog
from ledger.projection.audit import Break
from ledger.projection.merkle import Frontier
from ledger.projection.signing import Signer, key_id, signature_ok


async def export(
    conn: asyncpg.Connection | None, log: EventLog, until: int, out: Path, signer: Signer, clock: Clock
) -> int:
    """Write entries 1..until into the existing folder `out`, and the checkpoints up to there.

    Signs one more checkpoint at the export's last entry when none was stored there yet.
    """
    frontier = Frontier()
    written = 0
    with (out / "events.log").open("wb") as f:
        async for rec in log.read(until_seq=until):
            body, digest = encode_commit(rec.commit)
            if digest != rec.hash:  # not canonical as stored (e.g. a newer producer): fetch the raw bytes
                raw = await log.nc.request(f"$JS.API.DIRECT.GET.{log.subjects.events_stream}",
                                           json.dumps({"seq": rec.seq}).encode(), timeout=5)
                body = raw.data
            f.write(f"{rec.seq}\t{rec.recorded_at.isoformat()}\t{rec.hash}\t".encode() + body + b"\n")
            frontier.append(rec.hash)
            written += 1
    stored = [] if conn is None else [dict(r) for r in await conn.fetch(
        "SELECT seq, leaves, root, signature, key_id FROM ledger_meta.checkpoints WHERE seq <= $1 ORDER BY seq",
        written)]
    if not stored or stored[-1]["seq"] != written:
        cp = signer.sign(written, frontier, clock.now())
        stored.append({"seq": cp.seq, "leaves": cp.leaves, "root": cp.root, "signature": cp.signature,
                       "key_id": cp.key_id})
    (out / "checkpoints.json").write_text(json.dumps(stored, indent=1) + "\n")
    (out / "public_key.pem").write_text(signer.public_pem)
    return written


def verify_export(folder: Path) -> tuple[int, int, Break | None]:
    """(entries, checkpoints checked, first break or None). Needs nothing but the files."""
    public_pem = (folder / "public_key.pem").read_text()
    checkpoints = {c["seq"]: c for c in json.loads((folder / "checkpoints.json").read_text())}
    lines = (folder / "events.log").read_bytes().split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    parsed: list[tuple[int, str, str, bytes, str]] = []  # seq, key, recorded hash, body, computed hash
    for n, line in enumerate(lines, start=1):
        parts = line.split(b"\t", 3)
        try:
            seq = int(parts[0])
            dt.datetime.fromisoformat(parts[1].decode())
            recorded, body = parts[2].decode(), parts[3]
        except (ValueError, IndexError, UnicodeDecodeError):
            return n - 1, 0, Break(seq=n, project="?", field="line", detail=f"line {n} is not an export record")
        if seq != n:
            return n - 1, 0, Break(seq=seq, project="?", field="seq", detail=f"line {n} holds sequence {seq}")
        try:
            key = decode_commit(body).key
        except (msgspec.DecodeError, msgspec.ValidationError):
            key = "?"
        parsed.append((seq, key, recorded, body, sha256_hex(body)))
    tips: dict[str, tuple[str, int]] = {}
    frontier, checked = Frontier(), 0
    for i, (seq, key, recorded, body, computed) in enumerate(parsed):
        if computed != recorded:
            # Which side changed? If the chain continues from the computed hash, the hash column did.
            later = next((p for p in parsed[i + 1:] if p[1] == key), None)
            field = "hash" if later is not None and _prev(later[3]) == computed else "body"
            return i, checked, Break(seq=seq, project=key, field=field,
                                     detail=f"sha256 of the commit bytes is {computed}, the record says {recorded}")
        commit = decode_commit(body)
        prev_hash, prev_number = tips.get(commit.key, (GENESIS_HASH, 0))
        if commit.prev_hash != prev_hash or commit.number != prev_number + 1:
            field = "prev_hash" if commit.prev_hash != prev_hash else "number"
            return i, checked, Break(seq=seq, project=key, field=field, detail="the project's hash chain breaks here")
        tips[commit.key] = (computed, commit.number)
        frontier.append(computed)
        if (cp := checkpoints.get(seq)) is not None:
            checked += 1
            if cp["root"] != frontier.root() or cp["leaves"] != frontier.size:
                return i, checked, Break(seq=seq, project=key, field="checkpoint.root",
                                         detail=f"signed root {cp['root']}, entries give {frontier.root()}")
            if cp["key_id"] != key_id(public_pem) or not signature_ok(public_pem, seq, cp["leaves"], cp["root"],
                                                                       cp["signature"]):
                return i, checked, Break(seq=seq, project=key, field="checkpoint.signature",
                                         detail="signature does not verify with public_key.pem")
    return len(parsed), checked, None


def _prev(body: bytes) -> str | None:
    try:
        return decode_commit(body).prev_hash
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
