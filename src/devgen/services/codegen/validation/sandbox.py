"""The project's own tests, run by the executor service in its sandbox.

The call (``POST /api/v1/execute``) is the one :mod:`devgen.kit.testruns` builds for
every test run of a generated project (the same pytest command, junit and coverage
flags as the orchestrator's ``test`` step), with ``wait: true``; the answer is read by
the same :func:`~devgen.kit.testruns.summarise`. The answer is the execution (``status``,
``verdict``, ``exit_code``, ``result.stdout/stderr``, ``result.files`` with each file's
``status``, ``encoding`` and ``content``); when it has not finished yet (202, or status
``queued``/``running`` because ``wait`` has a cap) it is polled at ``/executions/{id}``.
An executor that is not deployed (no client, 404) or not available (503, circuit open)
means the step is *skipped*, said so in a diagnostic, never a failure of the validation.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import anyio
import structlog

from devgen.kit import testruns
from devgen.kit.client import ServiceClient, ServiceClients
from devgen.kit.errors import ServiceUnavailable
from devgen.kit.testruns import CoverageReport, TestResult
from devgen.services.codegen.validation.diagnostics import Diagnostic, Severity

log = structlog.get_logger(__name__)

EXECUTE_PATH = "/api/v1/execute"
EXECUTION_PATH = "/api/v1/executions/{id}"
_FINISHED = {"finished"}
_POLL_SECONDS = 0.5


class TestStatus(StrEnum):
    """How the test step ended."""

    __test__ = False

    passed = "passed"  # every test passed
    failed = "failed"  # at least one test failed or errored
    error = "error"  # the tests could not be run to the end (limits, collection errors, ...)
    skipped = "skipped"  # not run: executor unavailable, or not asked for


@dataclass(frozen=True)
class SandboxLimits:
    """What the test run may use (the executor caps them at its own maxima)."""

    wall_time_s: float = 60.0
    cpu_time_s: float = 30.0
    memory_bytes: int = 1024 * 1024 * 1024


@dataclass
class TestRun:
    """The outcome of the test step."""

    __test__ = False

    status: TestStatus
    reason: str = ""
    results: list[TestResult] = field(default_factory=list)
    coverage: CoverageReport | None = None
    verdict: str | None = None
    exit_code: int | None = None
    output: str = ""
    diagnostics: list[Diagnostic] = field(default_factory=list)


def execute_request(
    files: Mapping[str, str], *, environment: str, limits: SandboxLimits
) -> dict[str, Any]:
    """The body of ``POST /api/v1/execute`` for the project's tests."""
    return testruns.execute_body(
        files,
        environment=environment,
        limits={
            "wall_time_s": limits.wall_time_s,
            "cpu_time_s": limits.cpu_time_s,
            "memory_bytes": limits.memory_bytes,
        },
        wait=True,
    )


def skipped(reason: str) -> TestRun:
    """A test step that did not run, with the diagnostic that says why."""
    return TestRun(
        status=TestStatus.skipped,
        reason=reason,
        diagnostics=[
            Diagnostic(
                file=None,
                line=None,
                rule="tests",
                message=f"tests: skipped ({reason})",
                severity=Severity.info,
            )
        ],
    )


async def run_tests(
    clients: ServiceClients,
    files: Mapping[str, str],
    *,
    environment: str = "python-service",
    limits: SandboxLimits | None = None,
) -> TestRun:
    """Run the project's tests through the executor; skipped when it is unavailable."""
    limits = limits or SandboxLimits()
    try:
        executor = clients.get("executor")
        response = await executor.post(
            EXECUTE_PATH,
            json=execute_request(files, environment=environment, limits=limits),
            read_timeout=limits.wall_time_s + 30,
        )
    except ServiceUnavailable:
        return skipped("executor unavailable")
    if response.status_code in {404, 503}:
        return skipped("executor unavailable")
    if response.status_code == 429:
        return skipped("executor busy; retry later")
    if response.status_code >= 300 or response.status_code == 204:
        code = _error_code(response.json() if _is_json(response) else None)
        return _error(f"the executor refused the run ({response.status_code} {code})")
    data = _data(response.json() if _is_json(response) else None)
    if response.status_code == 202 or str(data.get("status", "")) in {"queued", "running"}:
        try:
            data = await _wait_for(
                executor, data, deadline=time.monotonic() + limits.wall_time_s + 60
            )
        except ServiceUnavailable:
            return _error("the executor became unavailable during the run")
        if not data:
            return _error("the execution did not finish in time")
    return interpret(data, list(files))


def _is_json(response: Any) -> bool:
    return "json" in response.headers.get("content-type", "")


def _data(body: Any) -> dict[str, Any]:
    data = body.get("data") if isinstance(body, dict) else None
    if isinstance(data, dict):
        return data
    return body if isinstance(body, dict) else {}


def _error_code(body: Any) -> str:
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return str(body["error"].get("code", ""))
    return ""


def _error(reason: str) -> TestRun:
    return TestRun(
        status=TestStatus.error,
        reason=reason,
        diagnostics=[
            Diagnostic(
                file=None,
                line=None,
                rule="tests",
                message=f"tests: {reason}",
                severity=Severity.error,
            )
        ],
    )


async def _wait_for(
    executor: ServiceClient, data: dict[str, Any], *, deadline: float
) -> dict[str, Any]:
    """Poll ``GET /executions/{id}`` until it has finished; {} at the deadline."""
    execution_id = data.get("id")
    if not execution_id:
        return {}
    while time.monotonic() < deadline:
        await anyio.sleep(_POLL_SECONDS)
        response = await executor.get(EXECUTION_PATH.format(id=execution_id))
        if response.status_code != 200:
            continue
        current = _data(response.json())
        if current.get("status") in _FINISHED:
            return current
    return {}


def interpret(data: Mapping[str, Any], paths: list[str]) -> TestRun:
    """The test step's outcome from an execution result (pure; tested on sample answers)."""
    summary = testruns.summarise(data, paths)
    run = TestRun(
        status=TestStatus.error,
        results=summary.results,
        coverage=summary.coverage,
        verdict=summary.verdict,
        exit_code=summary.exit_code,
        output=summary.output,
    )
    for problem in summary.problems:
        rule = "coverage" if problem.startswith("the coverage") else "tests"
        severity = Severity.warning if rule == "coverage" else Severity.error
        run.diagnostics.append(_diagnostic(None, rule, f"{rule}: {problem}", severity))
    bad = summary.failing
    for result in bad:
        file = result.id.split("::", 1)[0]
        message = f"{result.id} {result.outcome.value}: {result.message}".rstrip(": ")
        run.diagnostics.append(_diagnostic(file, "tests", message, Severity.error))
    if summary.verdict not in {"succeeded", "failed"} or not summary.results:
        run.reason = summary.problems[-1]
    elif bad:
        run.status, run.reason = TestStatus.failed, f"{len(bad)} of {len(run.results)} failed"
    elif summary.exit_code not in (0, None):
        run.reason = f"pytest exited with {summary.exit_code} although every test passed"
        run.diagnostics.append(_diagnostic(None, "tests", f"tests: {run.reason}", Severity.error))
    else:
        run.status, run.reason = TestStatus.passed, f"{len(run.results)} passed"
    return run


def _diagnostic(file: str | None, rule: str, message: str, severity: Severity) -> Diagnostic:
    return Diagnostic(file=file, line=None, rule=rule, message=message, severity=severity)
