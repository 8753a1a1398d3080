"""OpenTelemetry tracing: one tracer provider per process, spans exported as configured.

``DEVGEN_OTEL_EXPORTER`` picks where spans go: ``none`` (spans are made, so
trace ids reach every log line, audit record and downstream call, but
nothing is exported), ``console`` (one JSON document per span on standard
output) or ``otlp`` (OTLP over HTTP/protobuf to the collector the standard
``OTEL_EXPORTER_OTLP_ENDPOINT`` or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``
names; ``http://localhost:4318`` when unset). The standard ``OTEL_*``
variables for sampling and batching apply as usual.

The trace context crosses every boundary the platform has: FastAPI's
instrumentation continues the caller's ``traceparent`` on every request,
httpx's (on the service client and the gateway's proxy) sends it on, event
envelopes carry it to their consumers, and the orchestrator keeps a run's
context with the run so that each step, whichever worker runs it, belongs
to the trace of the request that started the run.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

import httpx
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SpanExporter,
)
from starlette.types import ASGIApp

SERVICE_ATTRIBUTE = "devgen.service"
"""The span attribute naming the devgen service that made a span (all-in-one has one process)."""
_EXCLUDED_URLS = "/health,/ready,/metrics"
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


def instrument_app(app: ASGIApp, service: str) -> None:
    """Server spans for every request but the probes, named by the route template."""

    def tag(span: trace.Span, _scope: dict[str, Any]) -> None:
        if span.is_recording():
            span.set_attribute(SERVICE_ATTRIBUTE, service)

    FastAPIInstrumentor.instrument_app(
        app,  # type: ignore[arg-type]
        excluded_urls=_EXCLUDED_URLS,
        server_request_hook=tag,
        exclude_spans=["receive", "send"],
    )


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
