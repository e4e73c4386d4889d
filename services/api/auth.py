"""Bearer tokens with roles (viewer, operator) and the route guards; the file format is ledger.runtime.api_tokens."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from ledger.runtime.api_tokens import RANK, Holder, Role, ensure_demo_tokens, load_tokens, token_of

__all__ = ["Holder", "ensure_demo_tokens", "identify", "load_tokens", "require", "token_of"]


def identify(holders: list[Holder], header: str | None) -> Holder:
    if not header:
        raise NotAuthorizedException(detail="a bearer token is required (Authorization: Bearer <token>)")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthorizedException(detail="the Authorization header must be 'Bearer <token>'")
    token = token.strip()
    # compare against every token, so timing does not tell which prefix matched
    found = [h for h in holders if hmac.compare_digest(h.token.encode(), token.encode())]
    if not found:
        raise NotAuthorizedException(detail="unknown or revoked token")
    return found[0]


def require(role: Role) -> Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], None]:
    """A guard: the request's token must have `role` or a higher one."""

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        holder = identify(connection.app.state.tokens, connection.headers.get("authorization"))
        if RANK[holder.role] < RANK[role]:
            raise PermissionDeniedException(detail=f"this needs the '{role}' role; the token has '{holder.role}'")

    return guard
