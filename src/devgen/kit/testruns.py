"""Running a generated project's tests and summarising them: the one way devgen does it.

The orchestrator's ``test`` step, codegen's validation and devgen's own test
helpers all run a project's suite with :func:`pytest_command` (one set of
junit and coverage flags) and read what it wrote with :func:`summarise` (or
:func:`parse_junit` / :func:`parse_coverage`), so a test has the same node id
(``tests/test_a.py::TestB::test_c``) and the project the same coverage
wherever it ran.

The reports come back from a sandbox that ran generated (untrusted) code, so
they are treated as hostile: size-capped, and refused when they declare a DTD
or entities (the billion-laughs and external-entity tricks need one), before
the standard XML parser sees them.
"""

from __future__ import annotations

import base64
import binascii
import re
import xml.etree.ElementTree as ElementTree  # nosec B405 - size-capped, DTD-free input only
from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

JUNIT_FILE = "junit.xml"
COVERAGE_FILE = "coverage.xml"
ENVIRONMENT = "python-service"
"""The executor's environment generated Python projects are tested in."""
MAX_REPORT_BYTES = 8 * 1024 * 1024
MAX_MESSAGE_CHARS = 1000
MAX_DETAILS_CHARS = 4000
OUTPUT_TAIL_CHARS = 20_000
_DTD = re.compile(r"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


class ReportError(ValueError):
    """A report that is not the XML it should be (or is too big, or declares a DTD)."""


class TestOutcome(StrEnum):
    """How one test ended."""

    __test__ = False  # not a pytest class, despite the name

    passed = "passed"
    failed = "failed"
    error = "error"
    skipped = "skipped"


@dataclass(frozen=True)
class TestResult:
    """One test case: its pytest node id, outcome, time and (when it failed) why."""

    __test__ = False

    id: str
    outcome: TestOutcome
    duration_seconds: float = 0.0
    message: str = ""
    details: str = ""

    def as_output(self) -> dict[str, Any]:
        """Plain data, as step outputs and reports hold it."""
        return {**asdict(self), "outcome": self.outcome.value}


@dataclass(frozen=True)
class CoverageReport:
    """Line coverage of the whole project and per file (percentages, 0 to 100)."""

    percent: float
    lines_valid: int
    lines_covered: int
    files: dict[str, float] = field(default_factory=dict)

    def as_output(self) -> dict[str, Any]:
        """Plain data, as step outputs and reports hold it."""
        return asdict(self)


@dataclass
class TestSummary:
    """What one run of a project's tests said: every test, the coverage, what went wrong."""

    __test__ = False

    verdict: str | None
    exit_code: int | None
    results: list[TestResult] = field(default_factory=list)
    coverage: CoverageReport | None = None
    problems: list[str] = field(default_factory=list)
    """Why the run says less than it should: unreadable reports, no results, a bad verdict."""
    output: str = ""

    def count(self, outcome: TestOutcome) -> int:
        """How many tests ended with ``outcome``."""
        return sum(1 for result in self.results if result.outcome == outcome)

    @property
    def failing(self) -> list[TestResult]:
        """The tests that failed or erred."""
        return [r for r in self.results if r.outcome in {TestOutcome.failed, TestOutcome.error}]

    @property
    def passed(self) -> bool:
        """The run ended normally, pytest exited 0, a test ran and none failed."""
        return (
            self.verdict == "succeeded"
            and self.exit_code == 0
            and self.count(TestOutcome.passed) > 0
            and not self.failing
        )

    def as_output(self) -> dict[str, Any]:
        """Plain data (the orchestrator's ``test_run`` output, the report's input)."""
        return {
            "passed": self.passed,
            "summary": {
                "total": len(self.results),
                **{outcome.value: self.count(outcome) for outcome in TestOutcome},
                "duration_seconds": round(sum(r.duration_seconds for r in self.results), 3),
                "verdict": self.verdict,
                "exit_code": self.exit_code,
                "problems": list(self.problems),
            },
            "results": [result.as_output() for result in self.results],
            "coverage": self.coverage.as_output() if self.coverage is not None else None,
            "output": self.output,
        }


def is_test_path(path: str) -> bool:
    """Whether ``path`` is a pytest module or support file (``tests/...``, ``test_*.py``)."""
    name = path.rsplit("/", 1)[-1]
    return (
        path.startswith(("tests/", "test/"))
        or "/tests/" in path
        or name.startswith("test_")
        or name == "conftest.py"
    )


def coverage_sources(paths: Collection[str]) -> list[str]:
    """What ``--cov`` measures: the project's top-level packages and modules, not its tests.

    A directory counts when it is a package (``__init__.py``), so migration
    scripts and other loose files are not measured.
    """
    sources = set()
    for path in paths:
        if not path.endswith(".py") or is_test_path(path):
            continue
        head, _, rest = path.partition("/")
        if not rest:
            sources.add(head.removesuffix(".py"))
        elif f"{head}/__init__.py" in paths:
            sources.add(head)
    return sorted(s for s in sources if s.isidentifier())


def pytest_command(
    paths: Collection[str],
    *,
    python: str = "python",
    junit: str = JUNIT_FILE,
    coverage: bool = True,
) -> list[str]:
    """The command that runs a project's tests: quiet, junit always, coverage of its code.

    ``-p pytest_cov`` loads the coverage plugin even where plugin autoloading is
    off (devgen's own helpers turn it off so their plugins cannot change the run).
    """
    command = [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={junit}"]
    sources = coverage_sources(paths) if coverage else []
    if sources:
        command += [
            "-p",
            "pytest_cov",
            *(f"--cov={source}" for source in sources),
            f"--cov-report=xml:{COVERAGE_FILE}",
        ]
    return command


def execute_body(
    files: Mapping[str, str],
    *,
    limits: Mapping[str, float],
    wait: bool,
    environment: str = ENVIRONMENT,
) -> dict[str, Any]:
    """The body of the executor's ``POST /api/v1/execute`` that runs the project's tests."""
    return {
        "environment": environment,
        "files": dict(files),
        "command": pytest_command(list(files)),
        "collect": [JUNIT_FILE, COVERAGE_FILE],
        "limits": dict(limits),
        "wait": wait,
    }


def _root(raw: str | bytes, what: str) -> ElementTree.Element:
    data = raw.encode("utf-8") if isinstance(raw, str) else raw
    if len(data) > MAX_REPORT_BYTES:
        raise ReportError(f"the {what} report is larger than {MAX_REPORT_BYTES} bytes")
    if _DTD.search(data.decode("utf-8", "replace")):
        raise ReportError(f"the {what} report declares a DTD or entities; refused")
    try:
        return ElementTree.fromstring(data)  # noqa: S314  # nosec B314 - checked above
    except ElementTree.ParseError as exc:
        raise ReportError(f"the {what} report is not valid XML: {exc}") from exc


def node_id(classname: str, name: str, known_files: Collection[str] = ()) -> str:
    """``tests.test_a.TestB`` + ``test_c`` → ``tests/test_a.py::TestB::test_c``.

    The module is the longest dotted prefix that is one of ``known_files``
    (the project's paths); without a match, the whole class name is the
    module (right for plain test functions).
    """
    parts = classname.split(".") if classname else []
    for cut in range(len(parts), 0, -1):
        module = "/".join(parts[:cut]) + ".py"
        if module in known_files:
            return "::".join([module, *parts[cut:], name])
    if not parts:
        return name
    return "::".join(["/".join(parts) + ".py", name])


def _first_line(text: str) -> str:
    return (text.strip().splitlines() or [""])[0][:MAX_MESSAGE_CHARS]


def parse_junit(raw: str | bytes, known_files: Collection[str] = ()) -> list[TestResult]:
    """Every ``<testcase>`` of a junit report as a :class:`TestResult`, in report order."""
    root = _root(raw, "junit")
    if root.tag not in {"testsuites", "testsuite"}:
        raise ReportError(f"the junit report's root is <{root.tag}>, not <testsuites>")
    results = []
    for case in root.iter("testcase"):
        try:
            duration = float(case.get("time", "0") or 0)
        except ValueError:
            duration = 0.0
        outcome, message, details = TestOutcome.passed, "", ""
        for tag, kind in (
            ("failure", TestOutcome.failed),
            ("error", TestOutcome.error),
            ("skipped", TestOutcome.skipped),
        ):
            element = case.find(tag)
            if element is not None:
                body = element.text or ""
                outcome = kind
                message = _first_line(element.get("message") or body)
                details = body[:MAX_DETAILS_CHARS]
                break
        node = node_id(case.get("classname", ""), case.get("name", ""), known_files)
        results.append(TestResult(node, outcome, round(duration, 4), message, details))
    return results


def parse_coverage(raw: str | bytes, known_files: Collection[str] = ()) -> CoverageReport:
    """The line coverage in a Cobertura-style report (``--cov-report=xml``).

    ``known_files`` (the project's paths) turns the report's file names into
    project paths: with ``--cov=app`` coverage names them relative to the
    package, so the source's last part is tried in front of the name.
    """
    root = _root(raw, "coverage")
    if root.tag != "coverage":
        raise ReportError(f"the coverage report's root is <{root.tag}>, not <coverage>")
    try:
        valid = int(root.get("lines-valid", "0"))
        covered = int(root.get("lines-covered", "0"))
        rate = float(root.get("line-rate", "0"))
    except ValueError as exc:
        raise ReportError(f"the coverage report has a non-numeric total: {exc}") from exc
    sources = [s.text.strip().rstrip("/") for s in root.iter("source") if s.text]
    files: dict[str, float] = {}
    for element in root.iter("class"):
        name = element.get("filename")
        if not name:
            continue
        path = next(
            (
                candidate
                for source in sources
                if (candidate := f"{source.rsplit('/', 1)[-1]}/{name}") in known_files
            ),
            name,
        )
        try:
            files[path] = round(float(element.get("line-rate", "0")) * 100, 2)
        except ValueError:
            continue
    percent = covered / valid * 100 if valid else rate * 100
    return CoverageReport(round(percent, 2), valid, covered, dict(sorted(files.items())))


def _result(execution: Mapping[str, Any]) -> Mapping[str, Any]:
    """Where output and files are: the execution's ``result`` (the executor's shape), or itself."""
    result = execution.get("result")
    return result if isinstance(result, dict) else execution


def _decoded(content: str, encoding: object) -> bytes:
    if encoding == "base64":
        return base64.b64decode(content, validate=True)
    return content.encode("utf-8")


def collected(execution: Mapping[str, Any], name: str) -> bytes | None:
    """A collected file's bytes from an execution, None when it was not collected.

    The executor answers ``result.files[name] = {status, size, encoding, content}``,
    the content UTF-8 text or base64; only ``ok`` and ``truncated`` files have content.
    """
    entries = _result(execution).get("files")
    entry = entries.get(name) if isinstance(entries, dict) else None
    if isinstance(entry, str):
        return entry.encode("utf-8")
    if not isinstance(entry, dict) or entry.get("status", "ok") not in {"ok", "truncated"}:
        return None
    content = entry.get("content")
    if not isinstance(content, str):
        return None
    try:
        return _decoded(content, entry.get("encoding"))
    except (binascii.Error, ValueError):
        return None


def output_tail(execution: Mapping[str, Any], chars: int = OUTPUT_TAIL_CHARS) -> str:
    """The end of what the run printed (stdout then stderr)."""
    result = _result(execution)
    parts = []
    for stream in ("stdout", "stderr"):
        text = result.get(stream)
        if isinstance(text, str) and text:
            try:
                parts.append(
                    _decoded(text, result.get(f"{stream}_encoding")).decode("utf-8", "replace")
                )
            except (binascii.Error, ValueError):
                parts.append("(binary output)")
    return "".join(parts)[-chars:]


def summarise(execution: Mapping[str, Any], paths: Collection[str]) -> TestSummary:
    """What a finished execution of :func:`pytest_command` says about the project's tests."""
    verdict = str(execution.get("verdict") or "") or None
    code = execution.get("exit_code", _result(execution).get("exit_code"))
    summary = TestSummary(
        verdict=verdict,
        exit_code=code if isinstance(code, int) else None,
        output=output_tail(execution),
    )
    junit = collected(execution, JUNIT_FILE)
    if junit is not None:
        try:
            summary.results = parse_junit(junit, paths)
        except ReportError as exc:
            summary.problems.append(str(exc))
    report = collected(execution, COVERAGE_FILE)
    if report is not None:
        try:
            summary.coverage = parse_coverage(report, paths)
        except ReportError as exc:
            summary.problems.append(str(exc))
    if verdict not in {"succeeded", "failed"}:
        reason = execution.get("reason") or _result(execution).get("detail")
        summary.problems.append(
            f"the run ended with verdict {verdict or 'unknown'}" + (f": {reason}" if reason else "")
        )
    elif not summary.results:
        summary.problems.append(f"no test results (pytest exit code {summary.exit_code})")
    return summary


def failures_of(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The failing and erring tests (``as_output`` form) as codegen's repair takes them."""
    failing = []
    for result in results:
        if result["outcome"] not in {"failed", "error"}:
            continue
        text = result.get("details") or result.get("message") or result["outcome"]
        failing.append(
            {
                "test": result["id"][:1000],
                "file": result["id"].split("::", 1)[0][:255],
                "message": text[:20_000],
            }
        )
    return failing
