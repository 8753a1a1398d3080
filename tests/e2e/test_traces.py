"""One run is one trace: the distributed platform exports it over OTLP/HTTP.

Every service its own process (PostgreSQL, RabbitMQ), the test talking only to
the real gateway, ``DEVGEN_OTEL_EXPORTER=otlp`` pointed at a receiver in this
process that decodes the protobuf export requests.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.distributed import distributed_platform
from tests.e2e.support import Process, example, sign_up
from tests.helpers import eventually
from tests.otlp import ReceivedSpan, Receiver, otlp_receiver

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.rabbitmq]

SERVER = 2  # opentelemetry.proto.trace.v1.Span.SpanKind.SPAN_KIND_SERVER


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with otlp_receiver() as receiver:
        yield receiver


@pytest.fixture
def platform(tmp_path: Path, receiver: Receiver) -> Iterator[dict[str, Process]]:
    with distributed_platform(
        tmp_path,
        DEVGEN_OTEL_EXPORTER="otlp",
        OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint,
        OTEL_BSP_SCHEDULE_DELAY="200",
        DEVGEN_LOG_LEVEL="INFO",
    ) as platform:
        yield platform


async def test_one_run_is_one_trace_across_the_services(
    platform: dict[str, Process], receiver: Receiver
) -> None:
    gateway = platform["gateway"]
    async with httpx.AsyncClient(base_url=gateway.url, timeout=60) as http:
        user = await sign_up(http)
        started = await user.start_run(requirement=example("library"))
        run = await user.finished(started["id"], seconds=300)
    assert run["state"] == "succeeded", run["error"]

    def steps_of_the_run() -> list[ReceivedSpan]:
        return [s for s in receiver.received() if s.attributes.get("devgen.run_id") == run["id"]]

    steps = await eventually(
        steps_of_the_run,
        until=lambda found: (
            {s.attributes["devgen.step"] for s in found}
            >= {"analyze", "generate", "test", "contract", "package"}
        ),
        timeout=30,
        what="the run's step spans",
    )
    trace_ids = {s.trace_id for s in steps}
    assert len(trace_ids) == 1, trace_ids
    (trace_id,) = trace_ids

    def services_in_the_trace() -> set[str]:
        spans = [s for s in receiver.received() if s.trace_id == trace_id]
        sandbox = {"sandbox"} if any(s.name == "executor sandbox run" for s in spans) else set()
        return {s.service for s in spans} | sandbox

    expected = {"gateway", "orchestrator", "codegen", "executor", "storage", "sandbox"}
    await eventually(
        services_in_the_trace,
        until=lambda services: services >= expected,
        timeout=30,
        what=f"spans of {sorted(expected)} in trace {trace_id}",
    )
    spans = [s for s in receiver.received() if s.trace_id == trace_id]
    # The trace starts at the gateway's server span for the request that created the run.
    roots = [s for s in spans if not s.parent_span_id]
    assert [(r.service, r.kind) for r in roots] == [("gateway", SERVER)], roots
    by_id = {s.span_id: s for s in spans}
    assert all(s.parent_span_id in by_id for s in spans if s.parent_span_id)
    # Each step is a child in it: the sandbox work is under the test step.
    test_step = next(s for s in steps if s.attributes["devgen.step"] == "test")
    executor_servers = [s for s in spans if s.service == "executor" and s.kind == SERVER]
    assert executor_servers

    def ancestors(span: ReceivedSpan) -> set[str]:
        found = set()
        while span.parent_span_id in by_id:
            span = by_id[span.parent_span_id]
            found.add(span.span_id)
        return found

    assert any(test_step.span_id in ancestors(s) for s in executor_servers)
    # ... down to the sandbox run, which the executor's pool ran after the request ended.
    sandbox_runs = [s for s in spans if s.name == "executor sandbox run"]
    assert sandbox_runs
    # (the contract step runs schemathesis in the sandbox too, under its own step span)
    sandbox_steps = {
        s.span_id for s in steps if s.attributes["devgen.step"] in {"test", "contract"}
    }
    assert all(sandbox_steps & ancestors(s) for s in sandbox_runs)
    assert any(test_step.span_id in ancestors(s) for s in sandbox_runs)
    assert run["tests"]["execution_id"] in {
        s.attributes["devgen.execution_id"] for s in sandbox_runs
    }
    # Other traffic (sign-up) is traced too, in traces of its own.
    assert len({s.trace_id for s in receiver.received()}) > 1
    # Every log line carries the trace ids.
    log = platform["orchestrator"].log()
    assert f'"trace_id": "{trace_id}"' in log
    # The run's audit records carry the same trace id, whichever service emitted them.
    async with httpx.AsyncClient(base_url=gateway.url, timeout=60) as http:

        async def audited() -> list[dict[str, object]]:
            response = await http.get(
                "/api/v1/audit/events",
                params={"trace_id": trace_id, "limit": 100},
                headers=user.headers,
            )
            assert response.status_code == 200, response.text
            return list(response.json()["data"])

        records = await eventually(
            audited,
            until=lambda found: {"orchestrator", "storage"} <= {r["source"] for r in found},
            timeout=30,
            what=f"the run's audit records in trace {trace_id}",
        )
    assert all(r["trace_id"] == trace_id for r in records)
