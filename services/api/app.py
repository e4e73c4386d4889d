"""Composition root of the read API: the Litestar app, its lifespan (pool, NATS) and its routes.

Nothing connects at import time: the Postgres pool opens in the lifespan, and the NATS
connection (only the operator's rejected-submissions view needs it) on first use.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
from litestar import Litestar, Response, get
from litestar.datastructures import State
from litestar.exceptions import HTTPException
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.static_files import create_static_files_router
from nats.aio.client import Client as NATS

from ledger.natsconn import connect
from ledger.settings import ConfigError, Settings
from services.api.auth import Holder, load_tokens
from services.api.errors import handle_http, handle_internal
from services.api.metrics import ApiMetrics, metrics_middleware
from services.api.routes.deadlines import DeadlinesController
from services.api.routes.figures import FiguresController
from services.api.routes.ops import OpsController
from services.api.routes.projects import ProjectsController

STATIC = Path(__file__).parent / "static"


class LazyNats:
    """One NATS connection, opened on first use with the API's own identity (LEDGER_NATS_USER/PASSWORD).

    That identity only reads (ledger/runtime/auth.py): the rejected stream, never the log's streams.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.nc: NATS | None = None
        self.lock = asyncio.Lock()

    async def __call__(self) -> NATS:
        async with self.lock:
            if self.nc is None or self.nc.is_closed:
                self.nc = await connect(self.settings, name="api")
            return self.nc

    async def close(self) -> None:
        if self.nc is not None and not self.nc.is_closed:
            await self.nc.close()


@get("/", include_in_schema=False)
async def home() -> Response[None]:
    return Response(None, status_code=302, headers={"Location": "/dashboard/"})


def create_app(settings: Settings, holders: list[Holder] | None = None, *, pool_size: int = 10) -> Litestar:
    if settings.database_url is None:
        raise ConfigError("Config 'LEDGER_DATABASE_URL' is not set. Start the system with 'ledger up' or set it.")
    database_url = settings.database_url
    tokens = holders if holders is not None else load_tokens(settings.api_tokens_path)
    metrics = ApiMetrics()

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        pool = await asyncpg.create_pool(database_url, min_size=1, max_size=pool_size,
                                         server_settings={"application_name": "ledger-api"})
        lazy = LazyNats(settings)
        app.state.pool, app.state.nats = pool, lazy
        try:
            yield
        finally:
            await lazy.close()
            await pool.close()

    return Litestar(
        route_handlers=[home, ProjectsController, FiguresController, DeadlinesController, OpsController,
                        create_static_files_router(path="/dashboard", directories=[STATIC], html_mode=True,
                                                   include_in_schema=False)],
        lifespan=[lifespan],
        state=State({"tokens": tokens, "settings": settings, "metrics": metrics}),
        middleware=[DefineMiddleware(metrics_middleware(metrics))],  # type: ignore[arg-type]
        exception_handlers={HTTPException: handle_http, Exception: handle_internal},
        openapi_config=OpenAPIConfig(
            title="Planning ledger read API", version="1.0.0", path="/schema",
            description="Read-only view of the bureau's project ledger (一本账). Send 'Authorization: Bearer <token>'.",
            components=Components(security_schemes={"bearer": SecurityScheme(type="http", scheme="bearer")}),
            security=[{"bearer": []}],
        ),
        debug=False,
    )
