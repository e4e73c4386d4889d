"""Every error leaves the API as JSON `{code, message}` (and `parameter` when a query parameter is wrong)."""

from __future__ import annotations

import logging
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException, PermissionDeniedException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

log = logging.getLogger("api")


class ApiError(HTTPException):
    """An error with a stable machine code; `parameter` names the offending query parameter."""

    def __init__(self, status_code: int, code: str, message: str, parameter: str | None = None) -> None:
        super().__init__(status_code=status_code, detail=message)
        self.code = code
        self.parameter = parameter


def bad_parameter(name: str, problem: str) -> ApiError:
    return ApiError(400, "bad_parameter", f"query parameter '{name}': {problem}", parameter=name)


def _body(code: str, message: str, parameter: str | None = None) -> dict[str, str]:
    out = {"code": code, "message": message}
    if parameter is not None:
        out["parameter"] = parameter
    return out


def handle_http(_: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, str]]:
    if isinstance(exc, ApiError):
        body = _body(exc.code, exc.detail, exc.parameter)
    elif isinstance(exc, ValidationException):
        body = _validation(exc)
    elif isinstance(exc, NotAuthorizedException):
        body = _body("unauthorized", exc.detail)
    elif isinstance(exc, PermissionDeniedException):
        body = _body("forbidden", exc.detail)
    elif exc.status_code == 404:
        body = _body("not_found", exc.detail)
    elif exc.status_code == 405:
        body = _body("method_not_allowed", exc.detail)
    else:
        body = _body("http_error", exc.detail)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
    return Response(body, status_code=exc.status_code, media_type=MediaType.JSON, headers=headers)


def _validation(exc: ValidationException) -> dict[str, str]:
    """Litestar's parameter validation → one message naming the first bad parameter."""
    extra = exc.extra if isinstance(exc.extra, list) else []
    for item in extra:
        if isinstance(item, dict) and item.get("key"):
            name = str(item["key"])
            return _body("bad_parameter", f"query parameter '{name}': {item.get('message', 'invalid value')}", name)
    return _body("bad_parameter", exc.detail)


def handle_internal(_: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, str]]:
    log.exception("unexpected failure", exc_info=exc)
    return Response(_body("internal_error", "an unexpected failure; see the API's log"),
                    status_code=HTTP_500_INTERNAL_SERVER_ERROR, media_type=MediaType.JSON)
