"""Test reports into data: pytest's junit XML per test, coverage.py's XML as a percentage.

The XML comes back from a sandbox that ran untrusted code, so it is treated as hostile:
size-capped, and refused outright when it declares a DTD or entities (the billion-laughs
and external-entity tricks need one), before the standard parser sees it.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree  # nosec B405 - input is size-capped and DTD-free
from collections.abc import Collection
from dataclasses import dataclass, field
from enum import StrEnum

MAX_REPORT_BYTES = 8 * 1024 * 1024
MAX_MESSAGE_CHARS = 1000
MAX_DETAILS_CHARS = 4000
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


@dataclass(frozen=True)
class CoverageReport:
    """Line coverage of the whole project and per file (percentages, 0 to 100)."""

    percent: float
    lines_valid: int
    lines_covered: int
    files: dict[str, float] = field(default_factory=dict)


def _root(text: str | bytes, what: str) -> ElementTree.Element:
    raw = text.encode("utf-8") if isinstance(text, str) else text
    if len(raw) > MAX_REPORT_BYTES:
        raise ReportError(f"the {what} report is larger than {MAX_REPORT_BYTES} bytes")
    if _DTD.search(raw.decode("utf-8", "replace")):
        raise ReportError(f"the {what} report declares a DTD or entities; refused")
    try:
        return ElementTree.fromstring(raw)  # noqa: S314  # nosec B314 - checked above
    except ElementTree.ParseError as exc:
        raise ReportError(f"the {what} report is not valid XML: {exc}") from exc


def _node_id(classname: str, name: str, known_files: Collection[str]) -> str:
    """``tests.test_a.TestB`` + ``test_c`` → ``tests/test_a.py::TestB::test_c``.

    The module is the longest dotted prefix that is a known file; without the file list
    every part is taken as the module path (right for plain test functions).
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


def parse_junit(text: str | bytes, known_files: Collection[str] = ()) -> list[TestResult]:
    """Every ``<testcase>`` as a :class:`TestResult`, in report order.

    ``known_files`` (the project's paths) lets test classes be told from modules.
    """
    root = _root(text, "junit")
    if root.tag not in {"testsuites", "testsuite"}:
        raise ReportError(f"the junit report's root is <{root.tag}>, not <testsuites>")
    results = []
    for case in root.iter("testcase"):
        node = _node_id(case.get("classname", ""), case.get("name", ""), known_files)
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
                outcome = kind
                body = element.text or ""
                message = _first_line(element.get("message") or body)
                details = body[:MAX_DETAILS_CHARS]
                break
        results.append(TestResult(node, outcome, round(duration, 4), message, details))
    return results


def parse_coverage(text: str | bytes, known_files: Collection[str] = ()) -> CoverageReport:
    """The line coverage in a Cobertura-style report (``coverage xml``, ``--cov-report=xml``).

    ``known_files`` (the project's paths) turns the report's file names into project paths.
    """
    root = _root(text, "coverage")
    if root.tag != "coverage":
        raise ReportError(f"the coverage report's root is <{root.tag}>, not <coverage>")
    try:
        valid = int(root.get("lines-valid", "0"))
        covered = int(root.get("lines-covered", "0"))
        rate = float(root.get("line-rate", "0"))
    except ValueError as exc:
        raise ReportError(f"the coverage report has a non-numeric total: {exc}") from exc
    percent = covered / valid * 100 if valid else rate * 100
    files: dict[str, float] = {}
    sources = [s.text.strip().rstrip("/") for s in root.iter("source") if s.text]
    for element in root.iter("class"):
        name = element.get("filename")
        if not name:
            continue
        try:
            files[_relative(name, sources, known_files)] = round(
                float(element.get("line-rate", "0")) * 100, 2
            )
        except ValueError:
            continue
    return CoverageReport(round(percent, 2), valid, covered, dict(sorted(files.items())))


def _relative(filename: str, sources: list[str], known_files: Collection[str]) -> str:
    """``filename`` as a project path, wherever the sandbox put the project.

    With ``--cov=app`` coverage names files relative to ``<workspace>/app``, so the
    source's last part is tried in front of the name, then the name alone.
    """
    for source in sources:
        candidate = f"{source.rsplit('/', 1)[-1]}/{filename}"
        if candidate in known_files:
            return candidate
    return filename
