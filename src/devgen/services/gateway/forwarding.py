"""The headers a request and its response carry across the gateway.

Hop-by-hop headers describe one connection and are dropped (RFC 9110 §7.6.1),
including any the ``Connection`` header names. The request gains
``X-Forwarded-For``/``-Proto``/``-Host``; the trace context is re-injected so
the service continues the gateway's span.
"""

from __future__ import annotations

from collections.abc import Iterable

from opentelemetry import propagate

from devgen.services.gateway.addresses import ClientOrigin

HOP_BY_HOP: frozenset[bytes] = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)
# Set again by whoever sends the message on: the client library for requests,
# the gateway's own server for responses (two Date headers confuse caches).
_REQUEST_REPLACED = frozenset(
    {
        b"host",
        b"x-forwarded-for",
        b"x-forwarded-proto",
        b"x-forwarded-host",
        b"traceparent",
        b"tracestate",
    }
)
_RESPONSE_REPLACED = frozenset({b"date", b"server"})

Headers = list[tuple[bytes, bytes]]


def _connection_tokens(headers: Iterable[tuple[bytes, bytes]]) -> set[bytes]:
    return {
        token.strip().lower()
        for key, value in headers
        if key.lower() == b"connection"
        for token in value.split(b",")
        if token.strip()
    }


def _end_to_end(headers: Iterable[tuple[bytes, bytes]], replaced: frozenset[bytes]) -> Headers:
    headers = list(headers)
    dropped = HOP_BY_HOP | replaced | _connection_tokens(headers)
    return [(key, value) for key, value in headers if key.lower() not in dropped]


def _header(headers: Iterable[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    for key, value in headers:
        if key == name:
            return value
    return None


def request_headers(raw: Iterable[tuple[bytes, bytes]], origin: ClientOrigin, peer: str) -> Headers:
    """The headers to send upstream for a request with headers ``raw``.

    ``X-Forwarded-For`` keeps the incoming chain only when the peer is a
    trusted proxy (anyone else could have written it) and appends the peer.
    """
    raw = list(raw)
    headers = _end_to_end(raw, _REQUEST_REPLACED)
    chain = [peer]
    if origin.peer_trusted:
        incoming = b", ".join(value for key, value in raw if key == b"x-forwarded-for")
        if incoming:
            chain.insert(0, incoming.decode("latin-1"))
    headers.append((b"x-forwarded-for", ", ".join(chain).encode("latin-1")))
    headers.append((b"x-forwarded-proto", origin.scheme.encode()))
    if host := _header(raw, b"host"):
        headers.append((b"x-forwarded-host", host))
    trace_context: dict[str, str] = {}
    propagate.inject(trace_context)
    if trace_context:
        headers.extend((key.encode(), value.encode()) for key, value in trace_context.items())
    else:
        headers.extend((key, value) for key, value in raw if key in {b"traceparent", b"tracestate"})
    return headers


def response_headers(raw: Iterable[tuple[bytes, bytes]]) -> Headers:
    """The upstream response's headers that go back to the client."""
    return _end_to_end(raw, _RESPONSE_REPLACED)
