"""A failover while a submission is decided is answered 'unavailable' (retry), never 'internal_error'."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

import asyncpg
import nats.errors
import nats.js.errors
import pytest

from contracts.receipts import Rejected
from ledger.clock import FixedClock
from ledger.eventlog import EventLog
from services.intake.handlers import Ports, answer, process
from services.intake.index import IndexEntry
from tests.faults import Fault, Faulty, faulty
from tests.intake import builders as b


class NoKeys:
    async def lookup(self, source: str, key: str) -> IndexEntry | None:
        return None


class Fresh:
    def fresh(self) -> bool:
        return True


def ports(error: BaseException) -> tuple[Ports, Fault]:
    """Ports failing the way a leader election, a lost server or a Postgres restart does: NATS errors from
    every load and append of the event log, Postgres errors from every key look-up. The Fault is returned
    too, so a test can tell the injected failure was hit (the log behind it is None: any other call to it
    fails with an AttributeError, which would also come out as internal_error)."""
    down = Fault(error, down=True)
    if isinstance(error, asyncpg.PostgresError):
        log, keys = cast(EventLog, Faulty(None)), faulty(NoKeys(), lookup=down)
    else:
        log, keys = cast(EventLog, Faulty(None, load_project=down, append=down)), NoKeys()
    return Ports(log=log, keys=keys, freshness=Fresh(), stages=cast(Any, None),
                 clock=FixedClock(dt.datetime(2026, 3, 2, 2, tzinfo=dt.UTC)), allowed={"window": ()}), down


@pytest.mark.parametrize("error", [
    nats.errors.TimeoutError(), nats.js.errors.ServiceUnavailableError(), nats.errors.NoRespondersError(),
    # js.publish while the stream's leader node is down and no new leader is elected yet (kill -9 of a node)
    nats.js.errors.NoStreamResponseError(),
    ConnectionResetError("reset by peer"),
    # Postgres shutting down (fast restart), restarting after a crash, or still starting, while a key look-up runs
    asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator command"),
    asyncpg.exceptions.CrashShutdownError("terminating connection because of crash of another server process"),
    asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
])
async def test_a_transient_failure_is_answered_unavailable_with_nothing_written(error: BaseException) -> None:
    failing, fault = ports(error)
    receipt = await process(b.raw(b.submit_app("P-failover")), "window", failing)
    assert isinstance(receipt, Rejected) and receipt.code == "unavailable"
    assert fault.failed == 1  # the injected failure was hit, once: nothing retries it within the submission
    assert "retry with the same idempotency_key" in receipt.message


@pytest.mark.parametrize("error", [
    KeyError("oops"),
    # an operator intervention too, but one a retry only repeats
    asyncpg.exceptions.DatabaseDroppedError("database \"ledger\" is being dropped"),
])
async def test_a_bug_or_a_permanent_failure_is_still_reported_as_internal_error(error: BaseException) -> None:
    failing, fault = ports(error)
    receipt = await process(b.raw(b.submit_app("P-bug")), "window", failing)
    assert isinstance(receipt, Rejected) and receipt.code == "internal_error"
    assert fault.failed == 1  # the injected error was raised, not an AttributeError of the log behind the fault


class BrokenRejectedStream:
    async def record(self, source: str, raw: bytes, rejected: Rejected, headers: dict[str, str]) -> None:
        raise nats.errors.TimeoutError


async def test_a_rejection_that_cannot_be_recorded_is_answered_unavailable_so_the_retry_is_recorded() -> None:
    failing, fault = ports(KeyError("unused"))
    receipt = await answer(b"{not json", "window", failing, BrokenRejectedStream(), {})
    assert isinstance(receipt, Rejected) and receipt.code == "unavailable"
    assert "refused (malformed)" in receipt.message and "retry with the same idempotency_key" in receipt.message
    assert fault.failed == 0  # refused before any port was asked
