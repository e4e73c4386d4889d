"""Intake's liveness beyond "the process runs": its health check and its own background tasks.

- Intake probes once, when it serves, that it may trim its inbound stream, with a purge that removes
  nothing; with permissions rendered before trimming, it says what to do and serves anyway, without
  waiting for the probe's verdict (a denied purge is known only by its timeout). The health check
  (`ledger.runtime.health intake`) no longer probes it: a check run every few seconds writes nothing.
- A background task that ends while intake runs (a bug none of its retries expected) ends `Running.serve`
  with its name, so `python -m services.intake` exits non-zero and is restarted.
"""

from __future__ import annotations

import asyncio
import logging
import re
from pathlib import Path
from typing import Any, cast

import pytest
from nats.aio.client import Client as NATS

from contracts.subjects import Subjects
from ledger.eventlog import provision
from ledger.runtime.auth import ADMIN
from ledger.runtime.health import check
from services.intake import streams
from services.intake.app import DURABLE, Running, running
from services.intake.inbound import PROBE_TIMEOUT_S, trim_denied
from tests.intake.conftest import AuthServer, intake_config, intake_settings, login, serving_auth
from tests.waiting import until


async def inbound_with_messages(admin: NATS, window: NATS, subjects: Subjects, count: int) -> None:
    """The inbound stream with `count` unsettled submissions and intake's durable consumer on it."""
    await streams.provision(admin.jetstream(), subjects)
    for i in range(count):
        await window.jetstream().publish(subjects.inbound("window"), f'{{"n": {i}}}'.encode())
    await admin.jetstream().add_consumer(subjects.inbound_stream, durable_name=DURABLE)


async def test_the_trim_probe_removes_nothing(
    auth_server: AuthServer, admin: NATS, window: NATS, subjects: Subjects
) -> None:
    await inbound_with_messages(admin, window, subjects, 4)
    js = admin.jetstream()
    await js.purge_stream(subjects.inbound_stream, seq=3)  # as the trimmer leaves it: sequences 3 and 4 kept
    assert await trim_denied(intake_settings(auth_server, subjects)) is None
    state = (await js.stream_info(subjects.inbound_stream)).state
    assert (state.first_seq, state.last_seq, state.messages) == (3, 4, 2)


async def test_intake_started_with_permissions_that_predate_trimming_says_what_to_do_and_serves(
    tmp_path: Path, subjects: Subjects, database_url: str, pg_schema: str, caplog: pytest.LogCaptureFixture
) -> None:
    def as_before_trimming(block: dict[str, Any]) -> None:
        intake = next(u for u in block["users"] if u["user"] == "intake")
        intake["permissions"]["publish"]["allow"].remove(f"$JS.API.STREAM.PURGE.{subjects.inbound_stream}")

    with serving_auth(tmp_path, [subjects], as_before_trimming) as server:
        admin, window = await login(server, ADMIN), await login(server, "window")
        try:
            await provision(admin.jetstream(), subjects)
            await inbound_with_messages(admin, window, subjects, 2)
            def told() -> list[str]:
                return [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]

            with caplog.at_level(logging.ERROR, logger="intake"):
                async with running(intake_config(server, subjects, database_url, pg_schema)):
                    assert told() == [], "serving before the probe's verdict (known only when it times out)"
                    await until(lambda: bool(told()), within=PROBE_TIMEOUT_S + 10, what="the probe's verdict")
                    assert any(re.search(r"may not purge its inbound stream .*ledger provision auth", m)
                               for m in told()), told()
                    await check("intake", intake_settings(server, subjects))  # healthy: the check writes nothing
        finally:
            await window.close()
            await admin.close()


async def test_serve_ends_naming_a_background_task_that_failed(intake: Running) -> None:
    async def broken_fetch(*args: object, **kwargs: object) -> list[object]:
        raise RuntimeError("a bug no retry expected")

    serving = asyncio.create_task(intake.serve(asyncio.Event()))
    cast(Any, intake.inbound)._sub.fetch = broken_fetch  # the loop's next fetch raises it
    failure = await asyncio.wait_for(serving, 10)
    assert failure == "inbound fetch loop ended (RuntimeError('a bug no retry expected'))"


async def test_serve_returns_none_when_stopped_with_every_background_task_running(intake: Running) -> None:
    stop = asyncio.Event()
    serving = asyncio.create_task(intake.serve(stop))
    stop.set()
    assert await asyncio.wait_for(serving, 10) is None
    assert [t.get_name() for t in intake.background if not t.done()] == [
        "key index follower", "key index sampler", "inbound fetch loop", "inbound trimmer"]
