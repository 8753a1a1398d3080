"""OpenTelemetry tracing: one tracer provider per process, spans exported as configured.

``DEVGEN_OTEL_EXPORTER`` picks where spans go: ``none`` (spans are made, so
trace ids reach every log line, audit record and downstream call, but
nothing is exported), ``console`` (one JSON document per span on standard
output) or ``otlp`` (OTLP over HTTP/protobuf to the collector the standard
``OTEL_EXPORTER_OTLP_ENDPOINT`` or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``
names; ``http://localhost:4318`` when unset). The standard ``OTEL_*``
variables for sampling and batching apply as usual.

The trace context crosses every boundary the platform has: the server span
(``ServerSpanMiddleware``) continues the caller's ``traceparent`` on every request,
httpx's (on the service client and the gateway's proxy) sends it on, event
envelopes carry it to their consumers, and the orchestrator keeps a run's
context with the run so that each step, whichever worker runs it, belongs
to the trace of the request that started the run.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping

import httpx
from fastapi import FastAPI
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SpanExporter,
)
from opentelemetry.trace import SpanKind, Status, StatusCode
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SERVICE_ATTRIBUTE = "devgen.service"
"""The span attribute naming the devgen service that made a span (all-in-one has one process)."""
_EXCLUDED_PATHS = frozenset({"/health", "/ready", "/metrics"})
_TRACE_HEADERS = {b"traceparent": "traceparent", b"tracestate": "tracestate"}
_provider: TracerProvider | None = None


def _exporter(kind: str) -> SpanExporter | None:
    if kind == "console":
        return ConsoleSpanExporter()
    if kind == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter()
    return None


def configure_tracing(service: str, exporter: str = "none") -> TracerProvider:
    """Install the process's tracer provider (once; later calls return the first).

    ``service`` becomes the resource's ``service.name`` (``devgen`` for the
    all-in-one, which hosts every service).
    """
    global _provider
    if _provider is not None:
        return _provider
    provider = TracerProvider(
        resource=Resource.create({"service.name": service, "service.namespace": "devgen"})
    )
    if (span_exporter := _exporter(exporter)) is not None:
        provider.add_span_processor(BatchSpanProcessor(span_exporter))
    trace.set_tracer_provider(provider)
    _provider = provider
    return provider


def shutdown_tracing() -> None:
    """Export what is still buffered and stop (the provider also does so at exit)."""
    if _provider is not None:
        _provider.shutdown()


def tracer() -> trace.Tracer:
    """devgen's tracer (a no-op one until ``configure_tracing`` runs)."""
    return trace.get_tracer("devgen")


class ServerSpanMiddleware:
    """Plain ASGI: one server span per request, continuing the caller's W3C trace context.

    Outside every other middleware, so it sees the final status of errors
    too; named ``<METHOD> <route template>`` once routing has matched. It
    does what the platform needs of OpenTelemetry's ASGI instrumentation (a
    span of the right kind, trace and parent) at a tenth of its cost per
    request, which matters on the hot path of every authenticated call.
    """

    def __init__(
        self, app: ASGIApp, service: str, provider: trace.TracerProvider | None = None
    ) -> None:
        self.app = app
        self.service = service
        self._provider = provider

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in _EXCLUDED_PATHS:
            await self.app(scope, receive, send)
            return
        carrier = {
            _TRACE_HEADERS[key]: value.decode("latin-1")
            for key, value in scope["headers"]
            if key in _TRACE_HEADERS
        }
        parent = propagate.extract(carrier) if carrier else None
        method = scope["method"]
        source = self._provider.get_tracer("devgen") if self._provider else tracer()
        span = source.start_span(
            method,
            context=parent,
            kind=SpanKind.SERVER,
            attributes={
                SERVICE_ATTRIBUTE: self.service,
                "http.method": method,
                "http.target": scope["path"],
                "http.scheme": scope.get("scheme", "http"),
            },
        )
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        token = otel_context.attach(trace.set_span_in_context(span, parent))
        try:
            await self.app(scope, receive, send_with_status)
        except BaseException as exc:
            span.record_exception(exc)
            raise
        finally:
            otel_context.detach(token)
            if span.is_recording():
                route = getattr(scope.get("route"), "path", None)
                if route:
                    span.update_name(f"{method} {route}")
                    span.set_attribute("http.route", route)
                span.set_attribute("http.status_code", status)
                if status >= 500:
                    span.set_status(Status(StatusCode.ERROR))
            span.end()


def instrument_app(app: FastAPI, service: str) -> None:
    """Server spans for every request but the probes (``ServerSpanMiddleware``, outermost)."""
    build_stack = app.build_middleware_stack

    def build_with_span() -> ASGIApp:
        return ServerSpanMiddleware(build_stack(), service)

    app.build_middleware_stack = build_with_span  # type: ignore[method-assign]


def instrument_client(client: httpx.AsyncClient) -> None:
    """Client spans for calls made with ``client``, each sending the trace context on."""
    HTTPXClientInstrumentor.instrument_client(client)


def current_traceparent() -> str | None:
    """The W3C ``traceparent`` of the current span (None outside any trace)."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get("traceparent")


@contextlib.contextmanager
def continued(carrier: Mapping[str, str | None] | None) -> Iterator[None]:
    """Make the trace context in ``carrier`` (``traceparent``/``tracestate``) current."""
    headers = {key: value for key, value in (carrier or {}).items() if value}
    if not headers:
        yield
        return
    token = otel_context.attach(propagate.extract(headers))
    try:
        yield
    finally:
        otel_context.detach(token)


def trace_ids() -> dict[str, str]:
    """``trace_id`` and ``span_id`` of the current span, as hex (empty outside a trace)."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return {}
    return {"trace_id": f"{context.trace_id:032x}", "span_id": f"{context.span_id:016x}"}
