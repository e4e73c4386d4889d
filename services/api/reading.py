"""A request's read: one pooled connection in a read-only snapshot, and the build it reads."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import AsyncIterator

import asyncpg
from litestar.datastructures import State
from litestar.params import FromQuery

from services.api.builds import Build, resolve, unavailable
from services.api.errors import bad_parameter

OptStr = FromQuery[str | None]
OptBool = FromQuery[bool | None]


@contextlib.asynccontextmanager
async def reading(state: State, schema: str | None) -> AsyncIterator[tuple[asyncpg.Connection, Build]]:
    pool: asyncpg.Pool = state.pool
    try:
        async with pool.acquire() as conn, conn.transaction(readonly=True, isolation="repeatable_read"):
            yield conn, await resolve(conn, schema)
    except (asyncpg.UndefinedTableError, asyncpg.InvalidSchemaNameError, asyncpg.UndefinedFunctionError):
        raise unavailable("the ledger has no live build yet (is the projections service running?)") from None
    except (OSError, asyncpg.CannotConnectNowError, asyncpg.TooManyConnectionsError) as exc:
        raise unavailable(f"Postgres is not reachable: {exc}") from None


def parse_month(name: str, raw: str | None) -> dt.date | None:
    if raw is None:
        return None
    if not re.fullmatch(r"\d{4}-\d{2}", raw):
        raise bad_parameter(name, f"'{raw}' is not a month; use YYYY-MM")
    try:
        return dt.date(int(raw[:4]), int(raw[5:]), 1)
    except ValueError:
        raise bad_parameter(name, f"'{raw}' is not a month; use YYYY-MM") from None


def one_of(name: str, raw: str | None, allowed: tuple[str, ...]) -> str | None:
    if raw is not None and raw not in allowed:
        raise bad_parameter(name, f"'{raw}' is not one of {', '.join(allowed)}")
    return raw
