"""Streaming HTTP proxy to a service that runs in another process.

The request body is streamed to the service as it arrives and the response
is streamed back chunk by chunk (server-sent events and large downloads pass
through without being buffered). A service that cannot be reached answers
502, one that does not answer in time 504, both in the error envelope.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator

import httpx
import structlog
from starlette.background import BackgroundTask
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from devgen.kit.telemetry import instrument_client
from devgen.services.gateway.addresses import ClientOrigin
from devgen.services.gateway.errors import BadGateway, GatewayTimeout
from devgen.services.gateway.forwarding import request_headers, response_headers

log = structlog.get_logger(__name__)


def _has_body(scope: Scope) -> bool:
    for key, value in scope["headers"]:
        if key == b"transfer-encoding" or (key == b"content-length" and value.strip() != b"0"):
            return True
    return False


async def _body(receive: Receive) -> AsyncIterator[bytes]:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        if chunk := message.get("body", b""):
            yield chunk
        if not message.get("more_body", False):
            return


def _target(base_url: str, scope: Scope) -> str:
    # raw_path keeps the client's percent-encoding exactly as it was sent.
    path = scope.get("raw_path") or scope["path"].encode()
    url = base_url.rstrip("/") + path.decode("latin-1")
    if query := scope.get("query_string"):
        url += "?" + query.decode("latin-1")
    return url


class HttpUpstream:
    """One pooled HTTP client that forwards requests to services by base URL."""

    def __init__(
        self, *, connect_timeout: float, timeout: float, tls: ssl.SSLContext | None = None
    ) -> None:
        self._client = httpx.AsyncClient(
            verify=tls if tls is not None else True,
            timeout=httpx.Timeout(timeout, connect=connect_timeout),
            follow_redirects=False,
            # Connections are kept per service; the numbers bound sockets, not requests.
            limits=httpx.Limits(max_connections=512, max_keepalive_connections=64),
        )
        instrument_client(self._client)

    @property
    def client(self) -> httpx.AsyncClient:
        """The pooled client (the aggregate health check reuses it)."""
        return self._client

    async def forward(
        self,
        service: str,
        base_url: str,
        scope: Scope,
        receive: Receive,
        send: Send,
        origin: ClientOrigin,
    ) -> None:
        """Send the request to ``base_url`` and stream the answer back."""
        client = scope.get("client")
        request = self._client.build_request(
            scope["method"],
            _target(base_url, scope),
            headers=request_headers(scope["headers"], origin, client[0] if client else "unknown"),
            content=_body(receive) if _has_body(scope) else None,
        )
        try:
            upstream = await self._client.send(request, stream=True)
        except httpx.TimeoutException as exc:
            log.warning("upstream_timeout", target=service, error=type(exc).__name__)
            raise GatewayTimeout(
                f"The {service} service did not answer in time.", details={"service": service}
            ) from exc
        except httpx.TransportError as exc:
            log.warning("upstream_unreachable", target=service, error=type(exc).__name__)
            raise BadGateway(
                f"The {service} service could not be reached.", details={"service": service}
            ) from exc
        response = StreamingResponse(
            upstream.aiter_raw(),
            status_code=upstream.status_code,
            background=BackgroundTask(upstream.aclose),
        )
        response.raw_headers = response_headers(upstream.headers.raw)
        try:
            await response(scope, receive, send)
        except httpx.TransportError as exc:
            # The status line is already out; all that is left is to cut the stream.
            log.warning("upstream_stream_broken", target=service, error=type(exc).__name__)
            await upstream.aclose()
            raise

    async def aclose(self) -> None:
        """Close pooled connections."""
        await self._client.aclose()
