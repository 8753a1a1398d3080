"""The server span every request gets: the caller's trace continued, named by route."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from devgen.kit.telemetry import SERVICE_ATTRIBUTE, ServerSpanMiddleware, current_traceparent

TRACE_ID = "a" * 32
PARENT_SPAN_ID = "b" * 16


def _traced_app() -> tuple[ServerSpanMiddleware, InMemorySpanExporter]:
    app = FastAPI()

    @app.get("/things/{thing_id}")
    async def thing(thing_id: str) -> dict[str, str | None]:
        return {"traceparent": current_traceparent()}

    @app.get("/broken")
    async def broken() -> None:
        raise RuntimeError("boom")

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return ServerSpanMiddleware(app, "things", provider), exporter


async def _get(app: ServerSpanMiddleware, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        traceparent = f"00-{TRACE_ID}-{PARENT_SPAN_ID}-01"
        return await client.get(path, headers={"traceparent": traceparent})


async def test_a_request_continues_the_callers_trace_in_a_server_span_named_by_route():
    app, exporter = _traced_app()
    response = await _get(app, "/things/42")
    (span,) = exporter.get_finished_spans()
    assert span.kind is SpanKind.SERVER
    assert span.name == "GET /things/{thing_id}"
    assert f"{span.context.trace_id:032x}" == TRACE_ID
    assert span.parent is not None
    assert f"{span.parent.span_id:016x}" == PARENT_SPAN_ID
    assert span.attributes[SERVICE_ATTRIBUTE] == "things"
    assert span.attributes["http.route"] == "/things/{thing_id}"
    assert span.attributes["http.status_code"] == 200
    # Work done in the endpoint belongs to the server span, not to the caller's.
    assert response.json()["traceparent"] == f"00-{TRACE_ID}-{span.context.span_id:016x}-01"


async def test_a_failing_request_marks_its_span_as_an_error():
    app, exporter = _traced_app()
    await _get(app, "/broken")
    (span,) = exporter.get_finished_spans()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["http.status_code"] == 500
    assert any(event.name == "exception" for event in span.events)


async def test_probes_make_no_spans():
    app, exporter = _traced_app()
    assert (await _get(app, "/health")).status_code == 200
    assert exporter.get_finished_spans() == ()
