"""Health, readiness, Prometheus metrics and rejected submissions (operator role)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import asyncpg
import nats.errors
import nats.js.errors
from litestar import Controller, Response, get
from litestar.datastructures import State
from litestar.params import QueryParameter
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from ledger.rejected import read_rejected
from services.api import models_figures as mf
from services.api.auth import require
from services.api.builds import live_ready, unavailable
from services.api.errors import bad_parameter
from services.api.reading import OptStr


class OpsController(Controller):
    tags = ["operations"]  # noqa: RUF012

    @get("/healthz", summary="Liveness: the process answers")
    async def health(self) -> dict[str, str]:
        return {"status": "ok"}

    @get("/readyz", summary="Readiness: Postgres answers and the ledger has a live build")
    async def ready(self, state: State) -> Response[dict[str, str]]:
        try:
            async with state.pool.acquire(timeout=2) as conn:
                ok = await live_ready(conn)
        except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
            return Response({"status": "unavailable", "reason": f"Postgres: {exc}"}, status_code=503)
        if not ok:
            return Response({"status": "unavailable", "reason": "no live ledger build yet"}, status_code=503)
        return Response({"status": "ready"})

    @get("/metrics", summary="Prometheus metrics", media_type=CONTENT_TYPE_LATEST, include_in_schema=True)
    async def metrics(self, state: State) -> bytes:
        return generate_latest(state.metrics.registry)

    @get("/api/v1/rejected", guards=[require("operator")],
         summary="Rejected submissions kept by intake (operator role), newest last")
    async def rejected(self, state: State, source: OptStr = None,
                       since: Annotated[dt.datetime | None, QueryParameter(description="RFC 3339 time")] = None,
                       limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 200) -> list[mf.RejectedSubmission]:
        if source is not None and not source.replace("_", "").replace("-", "").isalnum():
            raise bad_parameter("source", f"'{source}' is not a source id")
        if since is not None and since.tzinfo is None:
            raise bad_parameter("since", "give the time with an offset, e.g. 2026-03-02T09:00:00+08:00")
        try:
            nc = await state.nats()
        except (OSError, TimeoutError, nats.errors.Error) as exc:
            raise unavailable(f"connecting to NATS: {exc}") from None
        try:
            await nc.jetstream().stream_info(state.settings.subjects.rejected_stream)
        except nats.js.errors.NotFoundError:
            return []  # intake has not created its rejected stream: nothing was ever rejected
        except nats.errors.Error as exc:
            raise unavailable(f"reading the rejected stream: {exc}") from None
        try:
            entries = await read_rejected(nc, state.settings.subjects, source=source, since=since, wait_s=2.0)
        except (nats.errors.Error, RuntimeError) as exc:
            raise unavailable(f"reading the rejected stream: {exc}") from None
        return [mf.RejectedSubmission(seq=e.seq, source=e.source, time=e.time, code=e.code, field=e.field,
                                      message=e.message, subject=e.subject,
                                      raw=e.raw.decode("utf-8", errors="replace")) for e in entries[-limit:]]
