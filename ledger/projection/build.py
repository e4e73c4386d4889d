"""Building a ledger schema from sequence 1: full rebuilds (then switched live) and as-of audit builds."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import gc
import time
from collections.abc import Iterator
from typing import Literal

import asyncpg
import msgspec

from contracts.envelope import Envelope, Recorded
from ledger.eventlog import EventLog
from ledger.projection import catalog
from ledger.projection.certificate import certificate
from ledger.projection.fold import EventFilter
from ledger.projection.projector import Progress, Projector
from ledger.projection.schema import q

By = Literal["recorded", "occurred"]


class Built(msgspec.Struct, frozen=True, kw_only=True):
    schema: str
    applied_seq: int
    events: int
    certificate: str
    previous: str | None = None
    abandoned: tuple[str, ...] = ()  # half-built schemas of replays that died, dropped before this one
    in_use: tuple[str, ...] = ()  # old builds not dropped: the live projector had not moved off them yet
    phases: tuple[tuple[str, float], ...] = ()
    """(phase, seconds) of the build in order: the fold and write, indexes, catching up and switching, the
    certificate — where a long rebuild spent its time."""

    def phases_text(self) -> str:
        """'fold and write 40.7s, indexes 4.8s, …'"""
        return ", ".join(f"{name} {seconds:.1f}s" for name, seconds in self.phases)


def as_of_filter(at: dt.datetime, by: By) -> EventFilter:
    """Events that the ledger knew at `at` (recorded) or that had happened by `at` (occurred)."""
    if by == "recorded":
        def known(rec: Recorded, env: Envelope) -> bool:
            return rec.recorded_at <= at
        return known

    def happened(rec: Recorded, env: Envelope) -> bool:
        return env.occurred_at <= at
    return happened


async def build(
    conn: asyncpg.Connection,
    log: EventLog,
    *,
    name: str | None = None,
    as_of: dt.datetime | None = None,
    by: By = "recorded",
    until_seq: int | None = None,
    switch: bool = True,
    progress: Progress | None = None,
    batch_size: int = 5000,
    pump: bool = True,
) -> Built:
    """Fold the log from sequence 1 into a new schema; indexes after the bulk load.

    With `switch`, catch up to the log's end and make it the live build atomically; the previous
    live build is kept (for a quick way back) and older ones are dropped — but not one the live
    projector still writes to (`in_use`; a later replay drops it). With `pump` (the default)
    the log is read by a child process (ledger.logpump), leaving this one's core to fold and write.
    """
    kind = "live" if switch else "audit"
    abandoned = tuple(await catalog.drop_abandoned_builds(conn))
    schema = await catalog.new_build(conn, name=name, kind="building" if switch else kind, as_of=as_of,
                                     as_of_by=by if as_of else None, indexes=False, hold=True)
    try:
        with _cyclic_gc_paused():
            return await _fill(conn, log, schema, as_of=as_of, by=by, until_seq=until_seq, switch=switch,
                               progress=progress, batch_size=batch_size, pump=pump, abandoned=abandoned)
    finally:
        with contextlib.suppress(asyncpg.PostgresError, asyncpg.InterfaceError, OSError):  # a dead session holds none
            await catalog.release_build(conn, schema)


@contextlib.contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while a build runs.

    A build keeps every project it has folded in memory (millions of objects at 1 M events), and
    the collector's full passes rescanned them over and over: a third of the process's CPU in a
    200 k-event rebuild. The fold itself makes no reference cycles; reference counting frees its
    garbage as before, and the collector resumes (and catches up) when the build ends.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


async def _fill(conn: asyncpg.Connection, log: EventLog, schema: str, *, as_of: dt.datetime | None, by: By,
                until_seq: int | None, switch: bool, progress: Progress | None, batch_size: int, pump: bool,
                abandoned: tuple[str, ...]) -> Built:
    keep = as_of_filter(as_of, by) if as_of is not None else None
    phases: list[tuple[str, float]] = []
    began = time.perf_counter()

    def phase(name: str) -> None:
        nonlocal began
        now = time.perf_counter()
        phases.append((name, now - began))
        began = now

    projector = Projector(conn, log, schema, fresh=True, keep=keep, batch_size=batch_size, pump=pump)
    target = until_seq if until_seq is not None else await log.last_seq()
    await projector.run(until_seq=target, progress=progress)
    phase("fold and write")
    await catalog.create_indexes(conn, schema)
    phase("indexes")
    previous = None
    in_use: list[str] = []
    if switch:
        while (end := await log.last_seq()) > projector.applied:  # catch up with what landed meanwhile
            await projector.run(until_seq=end, progress=progress)
        previous = await catalog.switch_live(conn, schema)
        in_use = await catalog.drop_old_builds(conn, keep={schema} | ({previous} if previous else set()))
        phase("catch-up and switch")
    cert = await certificate(conn, schema)
    await catalog.finish_build(conn, schema, cert)
    phase("certificate")
    return Built(schema=schema, applied_seq=projector.applied, events=projector.events, certificate=cert,
                 previous=previous, abandoned=abandoned, in_use=tuple(in_use), phases=tuple(phases))


async def same_point_certificates(
    conn: asyncpg.Connection, log: EventLog, new: str, live: str, *, attempts: int = 200
) -> tuple[int, str, str]:
    """(sequence, certificate of `new`, certificate of `live`) at one and the same log sequence.

    The live build keeps following the log (notify's alerts, new submissions), so certificates read
    at different moments would differ although nothing is wrong. Catch the audit build up to the
    live one (or give the live one time to reach it), then read both in one snapshot.
    """
    for _ in range(attempts):
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            live_seq = int(await conn.fetchval(f"SELECT applied_seq FROM {q(live)}.progress"))
            new_seq = int(await conn.fetchval(f"SELECT applied_seq FROM {q(new)}.progress"))
            if live_seq == new_seq:
                return new_seq, await certificate(conn, new), await certificate(conn, live)
        if new_seq < live_seq:
            await Projector(conn, log, new).run(until_seq=live_seq)
            await catalog.finish_build(conn, new, await certificate(conn, new))
        else:
            await asyncio.sleep(0.05)  # the live projector is a moment behind the log
    raise RuntimeError(f"{live} did not reach the sequence of {new} in time: is the projections service running?")
