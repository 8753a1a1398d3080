"""Reading schemathesis' report from a sandboxed run, and the report's contract section."""

from __future__ import annotations

import json
from typing import Any

from devgen.services.orchestrator.contract import REPORT_FILE, summarise_contract
from devgen.services.orchestrator.report import build_report, render_markdown

SUMMARY = "2 failures, 1 warning in 3.10s"
REPORT: dict[str, Any] = {
    "schemathesis_version": "4.32.5",
    "stop_reason": "completed",
    "complete": True,
    "phases": {"coverage": {"status": "failure"}, "stateful": {"status": "success"}},
    "test_cases": {"generated": 120, "with_failures": 3, "errored": 0},
    "failures": [
        {
            "code": "ST101",
            "title": "Server error",
            "count": 2,
            "operations": ["GET /items/{item_id}"],
        },
        {"code": "ST103", "title": "Undocumented status code", "count": 1, "operations": ["x"]},
    ],
    "warnings": {"missing_test_data": ["GET /items/{item_id}"], "missing_auth": []},
    "checks": ["not_a_server_error", "status_code_conformance"],
}


def _execution(report: bytes | None, stdout: str = f"...\n===== {SUMMARY} =====\n") -> dict:
    files = {REPORT_FILE: {"status": "ok", "content": report.decode()}} if report else {}
    return {"verdict": "succeeded", "exit_code": 1, "result": {"stdout": stdout, "files": files}}


def test_failures_server_errors_and_the_summary_line_are_read():
    result = summarise_contract(_execution(json.dumps(REPORT).encode()), max_examples=5, seed=7)
    assert result["ran"] is True
    assert result["passed"] is False
    assert result["summary_line"] == SUMMARY
    assert result["failure_count"] == 3
    assert result["server_errors"] == 2
    assert result["server_error_operations"] == ["GET /items/{item_id}"]
    assert result["phases"] == {"coverage": "failure", "stateful": "success"}
    assert result["warnings"] == ["missing_test_data"]
    assert result["checks"] == ["not_a_server_error", "status_code_conformance"]


def test_a_clean_run_passes():
    clean = {**REPORT, "failures": []}
    result = summarise_contract(_execution(json.dumps(clean).encode()), max_examples=5, seed=7)
    assert result["passed"] is True
    assert result["server_errors"] == result["failure_count"] == 0


def test_a_missing_or_malformed_report_means_the_check_did_not_run():
    missing = summarise_contract(_execution(None), max_examples=5, seed=7)
    assert (missing["ran"], missing["problem"]) == (False, "schemathesis wrote no report")
    garbled = summarise_contract(_execution(b"{not json"), max_examples=5, seed=7)
    assert garbled["ran"] is False
    assert "not JSON" in garbled["problem"]
    hostile = {**REPORT, "failures": [{"code": 1, "count": "many", "operations": "all"}, 3]}
    odd = summarise_contract(_execution(json.dumps(hostile).encode()), max_examples=5, seed=7)
    assert odd["failures"] == [{"code": "", "title": "", "count": 0, "operations": []}]


def test_the_markdown_report_shows_the_contract_and_its_failures():
    contract = summarise_contract(_execution(json.dumps(REPORT).encode()), max_examples=5, seed=7)
    report = build_report(
        run={"id": "r", "workflow": "default"},
        requirement=None,
        spec=None,
        user_stories=[],
        test_run=None,
        diagnostics=[],
        unparsed=[],
        assumptions=[],
        engine={},
        usage={},
        repair_rounds=[],
        timings=[],
        files=[],
        contract=contract,
    )
    assert "output" not in report["contract"]
    markdown = render_markdown(report)
    assert "## API contract" in markdown
    assert "**not met** — 3 failures, 2 server errors" in markdown
    assert f"`{SUMMARY}`" in markdown
    assert "| ST101 | Server error | 2 | GET /items/{item_id} |" in markdown


def test_a_run_stopped_at_the_time_limit_does_not_meet_the_contract():
    stopped = {**REPORT, "failures": [], "stop_reason": "interrupted"}
    result = summarise_contract(_execution(json.dumps(stopped).encode()), max_examples=5, seed=7)
    assert (result["ran"], result["completed"], result["passed"]) == (True, False, False)
    report = build_report(
        run={"id": "r", "workflow": "default"},
        requirement=None,
        spec=None,
        user_stories=[],
        test_run=None,
        diagnostics=[],
        unparsed=[],
        assumptions=[],
        engine={},
        usage={},
        repair_rounds=[],
        timings=[],
        files=[],
        contract=result,
    )
    assert "**not met (schemathesis stopped early: interrupted)**" in render_markdown(report)
