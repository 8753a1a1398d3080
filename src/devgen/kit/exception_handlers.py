"""Render every error, ours or the framework's, in the one error envelope.

Nothing here echoes the client's input back (a 1 MB string or a NUL byte
stays out of the response), and no stack trace ever leaves the process.
"""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from devgen.kit.context import current_request_id
from devgen.kit.errors import DevgenError

log = structlog.get_logger(__name__)

_HTTP_CODES: dict[int, str] = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    406: "NOT_ACCEPTABLE",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    416: "RANGE_NOT_SATISFIABLE",
    422: "VALIDATION_ERROR",
    429: "RATE_LIMITED",
    503: "SERVICE_UNAVAILABLE",
}


def error_response(
    status: int,
    code: str,
    message: str,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    request_id: str | None = None,
) -> JSONResponse:
    """A response in the error envelope, stamped with the current request id."""
    body = {
        "error": {
            "code": code,
            "message": message,
            "details": details or {},
            "request_id": request_id or current_request_id(),
        }
    }
    return JSONResponse(body, status_code=status, headers=headers)


_MAX_LOCATION_PART = 64


def _location(loc: tuple[Any, ...]) -> str:
    # A location can hold the client's own key (an unknown field), so each
    # part is cut short: a 1 MB key must not come back in the response.
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            name = str(item)
            if len(name) > _MAX_LOCATION_PART:
                name = name[:_MAX_LOCATION_PART] + "…"
            parts.append(f".{name}" if parts else name)
    return "".join(parts)


async def _devgen_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DevgenError)
    return error_response(exc.status_code, exc.code, exc.message, exc.details, exc.headers)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"location": _location(tuple(err.get("loc", ()))), "message": err.get("msg", "invalid")}
        for err in exc.errors()
    ]
    return error_response(
        422, "VALIDATION_ERROR", "The request did not pass validation.", {"errors": errors}
    )


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def _allowed_methods(request: Request) -> str:
    # Starlette lists only the first matching route's methods; a path served
    # by several routes (GET and POST on one collection) must list them all.
    # Asking the router itself copes with nested (included) routers.
    allowed = []
    for method in _METHODS:
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] is Match.FULL for route in request.app.router.routes):
            allowed.append(method)
    return ", ".join(allowed)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "ERROR" if exc.status_code < 500 else "INTERNAL_ERROR")
    message = exc.detail if isinstance(exc.detail, str) else "The request failed."
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = _allowed_methods(request)
    return error_response(exc.status_code, code, message, headers=headers)


async def _unhandled_error(request: Request, exc: Exception) -> JSONResponse:
    log.error(
        "unhandled_exception",
        path=request.url.path,
        method=request.method,
        exc_info=(type(exc), exc, exc.__traceback__),
    )
    # This handler runs outermost (Starlette's ServerErrorMiddleware), after the
    # request-context middleware has finished: take the id from the request.
    request_id = current_request_id() or request.headers.get("x-request-id")
    return error_response(
        500,
        "INTERNAL_ERROR",
        "The server could not complete the request.",
        headers={"X-Request-ID": request_id} if request_id else None,
        request_id=request_id,
    )


def install_exception_handlers(app: FastAPI) -> None:
    """Make ``app`` answer every failure in the error envelope."""
    app.add_exception_handler(DevgenError, _devgen_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unhandled_error)
