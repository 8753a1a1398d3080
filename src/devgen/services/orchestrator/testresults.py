"""Test results from a sandboxed pytest run: junit per test, coverage, a summary.

The reports come back from a sandbox that ran generated (untrusted) code,
so they are treated as hostile: size-capped and refused when they declare a
DTD or entities, before the standard XML parser sees them.
"""

from __future__ import annotations

import base64
import binascii
import re
import xml.etree.ElementTree as ElementTree  # nosec B405 - size-capped, DTD-free input only
from collections.abc import Collection, Mapping
from typing import Any

JUNIT_FILE = "junit.xml"
COVERAGE_FILE = "coverage.xml"
MAX_REPORT_BYTES = 8 * 1024 * 1024
MAX_MESSAGE_CHARS = 1000
MAX_DETAILS_CHARS = 4000
OUTPUT_TAIL_CHARS = 8000
_DTD = re.compile(r"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


class ReportError(ValueError):
    """A report that is not the XML it should be."""


def _root(raw: bytes, what: str) -> ElementTree.Element:
    if len(raw) > MAX_REPORT_BYTES:
        raise ReportError(f"the {what} report is larger than {MAX_REPORT_BYTES} bytes")
    if _DTD.search(raw.decode("utf-8", "replace")):
        raise ReportError(f"the {what} report declares a DTD or entities; refused")
    try:
        return ElementTree.fromstring(raw)  # noqa: S314  # nosec B314 - checked above
    except ElementTree.ParseError as exc:
        raise ReportError(f"the {what} report is not valid XML: {exc}") from exc


def pytest_command(paths: Collection[str]) -> list[str]:
    """The command that runs a generated project's tests with junit and coverage."""
    command = ["python", "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={JUNIT_FILE}"]
    if any(path.startswith("app/") for path in paths):
        command += ["--cov=app", f"--cov-report=xml:{COVERAGE_FILE}"]
    return command


def _node_id(classname: str, name: str, known_files: Collection[str]) -> str:
    # ``tests.test_a.TestB`` + ``test_c`` -> ``tests/test_a.py::TestB::test_c``: the module is
    # the longest dotted prefix that is one of the project's files.
    parts = classname.split(".") if classname else []
    for cut in range(len(parts), 0, -1):
        module = "/".join(parts[:cut]) + ".py"
        if module in known_files or not known_files:
            return "::".join([module, *parts[cut:], name])
    return "::".join([*parts, name]) if parts else name


def _first_line(text: str) -> str:
    return (text.strip().splitlines() or [""])[0][:MAX_MESSAGE_CHARS]


def parse_junit(raw: bytes, known_files: Collection[str] = ()) -> list[dict[str, Any]]:
    """Every test case: ``id``, ``outcome`` (passed/failed/error/skipped), time, message."""
    root = _root(raw, "junit")
    if root.tag not in {"testsuites", "testsuite"}:
        raise ReportError(f"the junit report's root is <{root.tag}>, not <testsuites>")
    results = []
    for case in root.iter("testcase"):
        try:
            duration = float(case.get("time", "0") or 0)
        except ValueError:
            duration = 0.0
        outcome, message, details = "passed", "", ""
        for tag, kind in (("failure", "failed"), ("error", "error"), ("skipped", "skipped")):
            element = case.find(tag)
            if element is not None:
                body = element.text or ""
                outcome = kind
                message = _first_line(element.get("message") or body)
                details = body[:MAX_DETAILS_CHARS]
                break
        results.append(
            {
                "id": _node_id(case.get("classname", ""), case.get("name", ""), known_files),
                "outcome": outcome,
                "duration_seconds": round(duration, 4),
                "message": message,
                "details": details,
            }
        )
    return results


def parse_coverage(raw: bytes, known_files: Collection[str] = ()) -> dict[str, Any]:
    """Line coverage: ``percent``, lines valid and covered, and the percentage per file."""
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
        path = name
        for source in sources:
            candidate = f"{source.rsplit('/', 1)[-1]}/{name}"
            if candidate in known_files:
                path = candidate
                break
        try:
            files[path] = round(float(element.get("line-rate", "0")) * 100, 2)
        except ValueError:
            continue
    return {
        "percent": round(covered / valid * 100 if valid else rate * 100, 2),
        "lines_valid": valid,
        "lines_covered": covered,
        "files": dict(sorted(files.items())),
    }


def _decoded(content: str, encoding: object) -> bytes:
    if encoding == "base64":
        return base64.b64decode(content, validate=True)
    return content.encode("utf-8")


def collected(execution: Mapping[str, Any], name: str) -> bytes | None:
    """A collected file's bytes from an execution, None when it was not collected."""
    result = execution.get("result") or {}
    entry = (result.get("files") or {}).get(name)
    if not isinstance(entry, dict) or entry.get("status") not in {"ok", "truncated"}:
        return None
    content = entry.get("content")
    if not isinstance(content, str):
        return None
    try:
        return _decoded(content, entry.get("encoding"))
    except (binascii.Error, ValueError):
        return None


def output_tail(execution: Mapping[str, Any]) -> str:
    """The end of what the run printed (stdout then stderr)."""
    result = execution.get("result") or {}
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
    return "".join(parts)[-OUTPUT_TAIL_CHARS:]


def summarise(execution: Mapping[str, Any], paths: Collection[str]) -> dict[str, Any]:
    """The test step's output from a finished execution.

    ``passed`` is true only when the run ended normally, pytest exited 0,
    and at least one test ran with none failing.
    """
    verdict = str(execution.get("verdict") or "")
    exit_code = execution.get("exit_code")
    problems: list[str] = []
    results: list[dict[str, Any]] = []
    coverage: dict[str, Any] | None = None
    junit = collected(execution, JUNIT_FILE)
    if junit is not None:
        try:
            results = parse_junit(junit, paths)
        except ReportError as exc:
            problems.append(str(exc))
    report = collected(execution, COVERAGE_FILE)
    if report is not None:
        try:
            coverage = parse_coverage(report, paths)
        except ReportError as exc:
            problems.append(str(exc))
    counts = {kind: 0 for kind in ("passed", "failed", "error", "skipped")}
    for result in results:
        counts[result["outcome"]] += 1
    duration = round(sum(r["duration_seconds"] for r in results), 3)
    passed = (
        verdict == "succeeded"
        and exit_code == 0
        and counts["passed"] > 0
        and counts["failed"] == counts["error"] == 0
    )
    if verdict not in {"succeeded", "failed"}:
        reason = execution.get("reason") or (execution.get("result") or {}).get("detail") or ""
        problems.append(f"the test run ended with verdict {verdict or 'unknown'} {reason}".strip())
    elif not results:
        problems.append(f"no test results (pytest exit code {exit_code})")
    return {
        "passed": passed,
        "summary": {
            "total": len(results),
            **counts,
            "duration_seconds": duration,
            "verdict": verdict or None,
            "exit_code": exit_code,
            "problems": problems,
        },
        "results": results,
        "coverage": coverage,
        "output": output_tail(execution),
    }


def failures_of(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The failing and erroring tests in the form codegen's repair takes."""
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
