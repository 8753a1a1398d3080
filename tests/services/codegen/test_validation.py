"""Validation's parts: junit and coverage parsing, reading executor answers, static checks."""

from __future__ import annotations

import base64

import pytest

from devgen.kit.testruns import coverage_sources, pytest_command
from devgen.services.codegen.validation import (
    ReportError,
    Severity,
    TestOutcome,
    TestStatus,
    interpret,
    parse_coverage,
    parse_junit,
    static_diagnostics,
)
from devgen.services.codegen.validation.sandbox import SandboxLimits, execute_request

JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites name="pytest tests"><testsuite name="pytest" errors="1" failures="1" skipped="1"
 tests="5" time="0.5">
<testcase classname="tests.test_book" name="test_create_book" time="0.092" />
<testcase classname="tests.test_book" name="test_get_book[1-2]" time="0.010">
  <failure message="assert 404 == 200">tests/test_book.py:12: in test_get_book
    assert response.status_code == 200
E   assert 404 == 200</failure>
</testcase>
<testcase classname="tests.test_book.TestList" name="test_paginates" time="0.001">
  <error message="failed on setup with &quot;KeyError: 'x'&quot;">fixture error</error>
</testcase>
<testcase classname="tests.test_book" name="test_later" time="0">
  <skipped type="pytest.skip" message="not yet">skipped</skipped>
</testcase>
<testcase classname="test_root" name="test_top" time="abc" />
</testsuite></testsuites>
"""

COVERAGE = """<?xml version="1.0" ?>
<coverage version="7.6" lines-valid="400" lines-covered="397" line-rate="0.9925">
  <sources><source>/sandbox/workspace/app</source></sources>
  <packages><package name="."><classes>
    <class name="main.py" filename="main.py" line-rate="1"/>
    <class name="routers/book.py" filename="routers/book.py" line-rate="0.95"/>
  </classes></package></packages>
</coverage>
"""

KNOWN = ["app/main.py", "app/routers/book.py", "tests/test_book.py", "test_root.py"]


def test_junit_gives_each_test_its_outcome_and_node_id() -> None:
    results = parse_junit(JUNIT, known_files=KNOWN)

    assert [(r.id, r.outcome) for r in results] == [
        ("tests/test_book.py::test_create_book", TestOutcome.passed),
        ("tests/test_book.py::test_get_book[1-2]", TestOutcome.failed),
        ("tests/test_book.py::TestList::test_paginates", TestOutcome.error),
        ("tests/test_book.py::test_later", TestOutcome.skipped),
        ("test_root.py::test_top", TestOutcome.passed),
    ]
    failed = results[1]
    assert failed.message == "assert 404 == 200"
    assert "E   assert 404 == 200" in failed.details
    assert failed.duration_seconds == 0.01
    assert results[2].message == "failed on setup with \"KeyError: 'x'\""
    assert results[4].duration_seconds == 0.0


def test_coverage_gives_the_total_and_project_paths() -> None:
    report = parse_coverage(COVERAGE, known_files=KNOWN)

    assert report.percent == 99.25
    assert (report.lines_valid, report.lines_covered) == (400, 397)
    assert report.files == {"app/main.py": 100.0, "app/routers/book.py": 95.0}


@pytest.mark.parametrize(
    "text",
    [
        "<testsuites><testcase",  # truncated
        "not xml at all",
        '<?xml version="1.0"?><!DOCTYPE t [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
        "<testsuites>&b;</testsuites>",  # billion laughs, in small
        '<!DOCTYPE t SYSTEM "file:///etc/passwd"><testsuites/>',  # external entity
        "<html><body>oops</body></html>",
        "<testsuites>" + "x" * (9 * 1024 * 1024) + "</testsuites>",
    ],
)
def test_hostile_or_broken_junit_is_refused(text: str) -> None:
    with pytest.raises(ReportError):
        parse_junit(text)


def test_a_coverage_report_must_be_one() -> None:
    with pytest.raises(ReportError, match="root"):
        parse_coverage("<testsuites/>")
    with pytest.raises(ReportError, match="non-numeric"):
        parse_coverage('<coverage lines-valid="many"/>')


def _execution(verdict: str, exit_code: int, files: dict[str, object]) -> dict[str, object]:
    return {
        "id": "e1",
        "status": "finished",
        "verdict": verdict,
        "exit_code": exit_code,
        "result": {
            "stdout": "3 passed",
            "stdout_encoding": "utf-8",
            "stderr": base64.b64encode(b"warn\xff").decode(),
            "stderr_encoding": "base64",
            "files": files,
        },
    }


def _file(content: str, *, encoding: str = "utf-8") -> dict[str, object]:
    if encoding == "base64":
        content = base64.b64encode(content.encode()).decode()
    return {"status": "ok", "size": len(content), "encoding": encoding, "content": content}


def test_an_execution_with_a_failing_test_is_a_failed_run() -> None:
    run = interpret(
        _execution(
            "failed",
            1,
            {"junit.xml": _file(JUNIT), "coverage.xml": _file(COVERAGE, encoding="base64")},
        ),
        KNOWN,
    )

    assert run.status is TestStatus.failed
    assert run.reason == "2 of 5 failed"
    assert run.coverage is not None
    assert run.coverage.percent == 99.25
    assert run.output.startswith("3 passedwarn")
    diagnostics = [(d.file, d.rule, d.severity) for d in run.diagnostics]
    assert diagnostics == [
        ("tests/test_book.py", "tests", Severity.error),
        ("tests/test_book.py", "tests", Severity.error),
    ]


def test_an_execution_where_everything_passed() -> None:
    junit = '<testsuites><testcase classname="tests.test_a" name="test_a"/></testsuites>'

    run = interpret(_execution("succeeded", 0, {"junit.xml": _file(junit)}), ["tests/test_a.py"])

    assert run.status is TestStatus.passed
    assert run.diagnostics == []
    assert run.coverage is None


@pytest.mark.parametrize(
    ("execution", "reason"),
    [
        (_execution("wall_time_limit", 137, {}), "verdict wall_time_limit"),
        (_execution("failed", 4, {"junit.xml": {"status": "missing"}}), "no test results"),
        (_execution("failed", 2, {"junit.xml": _file("<testsuites/>")}), "no test results"),
    ],
)
def test_executions_that_did_not_run_the_tests_are_errors(
    execution: dict[str, object], reason: str
) -> None:
    run = interpret(execution, [])

    assert run.status is TestStatus.error
    assert reason in run.reason
    assert any(d.severity is Severity.error for d in run.diagnostics)


def test_the_sandbox_request_follows_the_executor_contract() -> None:
    files = {"app/main.py": "", "app/__init__.py": "", "tests/test_a.py": "", "tool.py": ""}

    body = execute_request(files, environment="python-service", limits=SandboxLimits())

    assert body["environment"] == "python-service"
    assert body["wait"] is True
    assert body["collect"] == ["junit.xml", "coverage.xml"]
    assert body["files"] == files
    assert body["limits"] == {"wall_time_s": 60.0, "cpu_time_s": 30.0, "memory_bytes": 1024**3}
    assert body["command"] == [
        "python",
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "--junitxml=junit.xml",
        "-p",
        "pytest_cov",
        "--cov=app",
        "--cov=tool",
        "--cov-report=xml:coverage.xml",
    ]
    assert coverage_sources(["tests/test_a.py", "conftest.py"]) == []
    assert "--cov-report=xml:coverage.xml" not in pytest_command(["tests/test_a.py"])


def test_static_checks_report_syntax_lint_and_security_findings() -> None:
    files = {
        "app/broken.py": "def f(:\n",
        "app/lint.py": "import os\n\n\ndef f():\n    return undefined_name\n",
        "app/shell.py": (
            "import subprocess\n\n\ndef run(x):\n    return subprocess.call(x, shell=True)\n"
        ),
        "app/layout.py": "def f( x ):\n  return x\n",
        "tests/test_a.py": "def test_a():\n    assert True\n",
    }

    found = {(d.file, d.line, d.rule, d.severity) for d in static_diagnostics(files)}

    assert ("app/broken.py", 1, "syntax", Severity.error) in found
    assert ("app/lint.py", 1, "ruff:F401", Severity.error) in found
    assert ("app/lint.py", 5, "ruff:F821", Severity.error) in found
    assert ("app/shell.py", 5, "bandit:B602", Severity.error) in found
    assert ("app/layout.py", None, "format", Severity.warning) in found
    assert not any(rule == "bandit:B101" for _, _, rule, _ in found)  # asserts in tests
    assert not any(
        file == "app/broken.py" and rule.startswith("ruff") for file, _, rule, _ in found
    )


def test_a_ruff_config_that_extends_a_host_file_is_not_used() -> None:
    files = {
        "ruff.toml": 'extend = "/etc/passwd"\n',
        "app.py": "import os\n",
    }

    found = static_diagnostics(files)

    [config] = [d for d in found if d.rule == "config"]
    assert config.file == "ruff.toml"
    assert "extends another configuration file" in config.message
    assert not any("root:" in d.message for d in found)
    assert any(d.rule == "ruff:F401" for d in found)  # checked with ruff's defaults


def test_a_project_without_python_has_nothing_to_check() -> None:
    assert static_diagnostics({"README.md": "# hi\n"}) == []
