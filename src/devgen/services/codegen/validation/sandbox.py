"""The project's own tests, run by the executor service in its sandbox.

The call (``POST /api/v1/execute``) follows the executor's contract: the
``python-service`` environment (FastAPI, SQLAlchemy, pydantic, httpx, pytest, pytest-cov),
the files, a pytest command writing ``junit.xml`` and ``coverage.xml``, ``collect`` for
those two files and ``wait: true``. The answer is the execution (``status``,
``verdict``, ``exit_code``, ``result.stdout/stderr``, ``result.files`` with each file's
``status``, ``encoding`` and ``content``); when it has not finished yet (202, or status
``queued``/``running`` because ``wait`` has a cap) it is polled at ``/executions/{id}``.
An executor that is not deployed (no client, 404) or not available (503, circuit open)
means the step is *skipped*, said so in a diagnostic, never a failure of the validation.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import anyio
import structlog

from devgen.kit.client import ServiceClient, ServiceClients
from devgen.kit.errors import ServiceUnavailable
from devgen.services.codegen.files import is_test_file
from devgen.services.codegen.validation.diagnostics import Diagnostic, Severity
from devgen.services.codegen.validation.reports import (
    CoverageReport,
    ReportError,
    TestOutcome,
    TestResult,
    parse_coverage,
    parse_junit,
)

log = structlog.get_logger(__name__)

EXECUTE_PATH = "/api/v1/execute"
EXECUTION_PATH = "/api/v1/executions/{id}"
JUNIT_FILE = "junit.xml"
COVERAGE_FILE = "coverage.xml"
_FINISHED = {"finished"}
_POLL_SECONDS = 0.5
_OUTPUT_CHARS = 20_000


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


def coverage_sources(paths: list[str]) -> list[str]:
    """What ``--cov`` measures: the top-level packages and modules that are not tests."""
    sources = set()
    for path in paths:
        if not path.endswith(".py") or is_test_file(path):
            continue
        head = path.split("/", 1)[0]
        sources.add(head.removesuffix(".py") if "/" not in path else head)
    return sorted(s for s in sources if s.isidentifier())


def pytest_command(paths: list[str]) -> list[str]:
    """The pytest command run in the sandbox: quiet, junit always, coverage when there is code."""
    command = ["python", "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={JUNIT_FILE}"]
    sources = coverage_sources(paths)
    if sources:
        command += [
            "-p",
            "pytest_cov",
            *(f"--cov={s}" for s in sources),
            f"--cov-report=xml:{COVERAGE_FILE}",
        ]
    return command


def execute_request(
    files: Mapping[str, str], *, environment: str, limits: SandboxLimits
) -> dict[str, Any]:
    """The body of ``POST /api/v1/execute`` for the project's tests."""
    return {
        "environment": environment,
        "files": dict(files),
        "command": pytest_command(list(files)),
        "collect": [JUNIT_FILE, COVERAGE_FILE],
        "limits": {
            "wall_time_s": limits.wall_time_s,
            "cpu_time_s": limits.cpu_time_s,
            "memory_bytes": limits.memory_bytes,
        },
        "wait": True,
    }


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


def _result(data: Mapping[str, Any]) -> Mapping[str, Any]:
    """Where output and files are: the execution's ``result`` (the executor's shape), or itself."""
    result = data.get("result")
    return result if isinstance(result, dict) else data


def _decoded(content: str, encoding: object) -> str:
    if encoding == "base64":
        return base64.b64decode(content, validate=True).decode("utf-8", "replace")
    return content


def collected_text(data: Mapping[str, Any], name: str) -> str | None:
    """A collected file's text from the execution, None when it was not collected.

    The executor answers ``result.files[name] = {status, size, encoding, content}``, the
    content UTF-8 text or base64 (``encoding``); a plain string is taken as the text.
    Only ``ok`` and ``truncated`` files have content.
    """
    entries = _result(data).get("files")
    if not isinstance(entries, dict) or name not in entries:
        return None
    entry = entries[name]
    if isinstance(entry, str):
        return entry
    if not isinstance(entry, dict) or entry.get("status", "ok") not in {"ok", "truncated"}:
        return None
    content = entry.get("content")
    if not isinstance(content, str):
        return None
    try:
        return _decoded(content, entry.get("encoding"))
    except (binascii.Error, ValueError):
        return None


def _output(data: Mapping[str, Any]) -> str:
    result = _result(data)
    parts = []
    for stream in ("stdout", "stderr"):
        text = result.get(stream)
        if isinstance(text, str):
            try:
                parts.append(_decoded(text, result.get(f"{stream}_encoding")))
            except (binascii.Error, ValueError):
                parts.append("(binary output)")
    return "".join(parts)[-_OUTPUT_CHARS:]


def interpret(data: Mapping[str, Any], paths: list[str]) -> TestRun:
    """The test step's outcome from an execution result (pure; tested on sample answers)."""
    verdict = str(data.get("verdict") or "")
    code = data.get("exit_code", _result(data).get("exit_code"))
    exit_code = code if isinstance(code, int) else None
    output = _output(data)
    run = TestRun(
        status=TestStatus.error, verdict=verdict or None, exit_code=exit_code, output=output
    )
    junit = collected_text(data, JUNIT_FILE)
    if junit is not None:
        try:
            run.results = parse_junit(junit, known_files=paths)
        except ReportError as exc:
            run.diagnostics.append(_diagnostic(None, "tests", str(exc), Severity.error))
    report = collected_text(data, COVERAGE_FILE)
    if report is not None:
        try:
            run.coverage = parse_coverage(report, known_files=paths)
        except ReportError as exc:
            run.diagnostics.append(_diagnostic(None, "coverage", str(exc), Severity.warning))
    bad = [r for r in run.results if r.outcome in {TestOutcome.failed, TestOutcome.error}]
    for result in bad:
        file = result.id.split("::", 1)[0]
        message = f"{result.id} {result.outcome.value}: {result.message}".rstrip(": ")
        run.diagnostics.append(_diagnostic(file, "tests", message, Severity.error))
    if verdict not in {"succeeded", "failed"}:
        reason = data.get("reason") or _result(data).get("detail")
        run.reason = f"the run ended with verdict {verdict or 'unknown'}" + (
            f": {reason}" if reason else ""
        )
        run.diagnostics.append(_diagnostic(None, "tests", f"tests: {run.reason}", Severity.error))
    elif bad:
        run.status, run.reason = TestStatus.failed, f"{len(bad)} of {len(run.results)} failed"
    elif not run.results:
        run.reason = f"no test results (pytest exit code {exit_code})"
        run.diagnostics.append(_diagnostic(None, "tests", f"tests: {run.reason}", Severity.error))
    elif exit_code not in (0, None):
        run.reason = f"pytest exited with {exit_code} although every test passed"
        run.diagnostics.append(_diagnostic(None, "tests", f"tests: {run.reason}", Severity.error))
    else:
        run.status, run.reason = TestStatus.passed, f"{len(run.results)} passed"
    return run


def _diagnostic(file: str | None, rule: str, message: str, severity: Severity) -> Diagnostic:
    return Diagnostic(file=file, line=None, rule=rule, message=message, severity=severity)
