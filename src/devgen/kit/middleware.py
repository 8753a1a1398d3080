"""Plain ASGI middleware that must see every request.

``RequestContextMiddleware`` gives each request an id (``X-Request-ID`` in
and out), binds it to every log line, records Prometheus metrics by route
template and writes one access log line. (The request's span, continuing the
caller's W3C trace context, is ``devgen.kit.telemetry.ServerSpanMiddleware``'s,
which runs outside every middleware.)
``BodySizeLimitMiddleware`` refuses oversized bodies before an endpoint
reads them.
"""

from __future__ import annotations

import re
import time
import uuid

import structlog
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from devgen.kit.context import (
    authorization_var,
    client_address_var,
    request_id_var,
    user_agent_var,
)
from devgen.kit.exception_handlers import error_response
from devgen.kit.metrics import http_metrics

log = structlog.get_logger("devgen.access")
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
_QUIET_PATHS = frozenset({"/health", "/ready", "/metrics"})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value).decode("latin-1")
    return None


class RequestContextMiddleware:
    """Request id, context variables, metrics and access log."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service
        self.metrics = http_metrics()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = _header(scope, b"x-request-id")
        request_id = (
            incoming if incoming and _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        )
        if incoming != request_id:
            scope["headers"] = [
                *(h for h in scope["headers"] if h[0] != b"x-request-id"),
                (b"x-request-id", request_id.encode()),
            ]
        client = scope.get("client")
        tokens = (
            request_id_var.set(request_id),
            authorization_var.set(_header(scope, b"authorization")),
            client_address_var.set(client[0] if client else None),
            user_agent_var.set(_header(scope, b"user-agent")),
        )
        log_tokens = structlog.contextvars.bind_contextvars(request_id=request_id)
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                headers["X-Request-ID"] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", None) or "<unmatched>"
            labels = (self.service, scope["method"], template, str(status))
            self.metrics.requests.labels(*labels).inc()
            self.metrics.latency.labels(*labels).observe(elapsed)
            if scope["path"] not in _QUIET_PATHS:
                log.info(
                    "request",
                    service=self.service,
                    method=scope["method"],
                    path=scope["path"],
                    status=status,
                    duration_ms=round(elapsed * 1000, 2),
                )
            structlog.contextvars.reset_contextvars(**log_tokens)
            for var, token in zip(
                (request_id_var, authorization_var, client_address_var, user_agent_var),
                tokens,
                strict=True,
            ):
                var.reset(token)


class BodySizeLimitMiddleware:
    """Answer 413 in the error envelope when a body exceeds ``max_bytes``.

    Checks ``Content-Length`` first and then counts streamed chunks, so a
    client cannot get around it with chunked encoding.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        received = 0
        refused = False

        async def counting_receive() -> Message:
            # Once over the limit the 413 is sent from here and the app is told
            # the client went away: frameworks turn exceptions raised while
            # reading a body into their own 400, so raising would not do.
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    refused = True
                    await self._refuse(scope, receive, send)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if not refused:
                await send(message)

        await self.app(scope, counting_receive, guarded_send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = error_response(
            413,
            "PAYLOAD_TOO_LARGE",
            f"The request body is larger than {self.max_bytes} bytes.",
            {"max_bytes": self.max_bytes},
        )
        await response(scope, receive, send)
