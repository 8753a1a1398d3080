"""The contract check of a generated service: schemathesis against its own OpenAPI.

:func:`contract_files` adds the runner (``contract_runner.py``, sent as a file) to the
project; :func:`contract_command` is what the sandbox runs; :func:`summarise_contract`
reads the finished execution: schemathesis' JSON report, collected from the sandbox and
so treated as hostile (size-capped, every field checked), and the summary line it printed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from importlib.resources import files as package_files
from typing import Any

from devgen.kit.testruns import collected, output_tail

RUNNER_FILE = "devgen_contract.py"
REPORT_FILE = "contract.json"
MAX_REPORT_BYTES = 2 * 1024 * 1024
MAX_FAILURE_GROUPS = 50
MAX_OPERATIONS = 50
# schemathesis' codes of a 5xx answer (ST101) and of one to a malformed Content-Type (ST102).
SERVER_ERROR_CODES = frozenset({"ST101", "ST102"})
_SUMMARY_LINE = re.compile(r"^=+ (.+?) =+$", re.MULTILINE)


def contract_files(project: Mapping[str, str]) -> dict[str, str]:
    """The project's files with the runner added (under a name the project does not use)."""
    runner = package_files("devgen.services.orchestrator").joinpath("contract_runner.py")
    return {**project, RUNNER_FILE: runner.read_text(encoding="utf-8")}


def contract_command(
    *,
    max_examples: int,
    seed: int,
    budget_seconds: float,
    phases: Sequence[str],
    processes: int = 1,
) -> list[str]:
    """The sandbox command: serve the app and run schemathesis' ``phases`` against it,
    shared out over up to ``processes`` processes at once, within a budget."""
    command = ["python", RUNNER_FILE, "--report", REPORT_FILE, "--seed", str(seed)]
    return [
        *command,
        "--max-examples",
        str(max_examples),
        "--budget-seconds",
        f"{budget_seconds:g}",
        "--phases",
        ",".join(phases),
        "--processes",
        str(processes),
    ]


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _text(value: Any, limit: int = 200) -> str:
    return value[:limit] if isinstance(value, str) else ""


def _failure_groups(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    groups = report.get("failures")
    if not isinstance(groups, list):
        return []
    parsed = []
    for group in groups[:MAX_FAILURE_GROUPS]:
        if not isinstance(group, dict):
            continue
        operations = group.get("operations")
        parsed.append(
            {
                "code": _text(group.get("code"), 20),
                "title": _text(group.get("title")),
                "count": _int(group.get("count")),
                "operations": [
                    _text(op) for op in (operations if isinstance(operations, list) else [])
                ][:MAX_OPERATIONS],
            }
        )
    return parsed


def _report(execution: Mapping[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
    raw = collected(execution, REPORT_FILE)
    if raw is None:
        return None, "schemathesis wrote no report"
    if len(raw) > MAX_REPORT_BYTES:
        return None, f"the schemathesis report is larger than {MAX_REPORT_BYTES} bytes"
    try:
        report = json.loads(raw)
    except ValueError as exc:
        return None, f"the schemathesis report is not JSON: {exc}"
    if not isinstance(report, dict):
        return None, "the schemathesis report is not a JSON object"
    return report, None


def summarise_contract(
    execution: Mapping[str, Any], *, max_examples: int, seed: int
) -> dict[str, Any]:
    """The contract step's result: checks run, failures by kind, server errors, the summary.

    ``passed`` is true when schemathesis completed with no failure (``completed`` is false
    when it was stopped, e.g. at the time limit); ``ran`` is false when it produced no
    usable report (``problem`` says why).
    """
    output = output_tail(execution)
    lines = _SUMMARY_LINE.findall(output)
    report, problem = _report(execution)
    report = report or {}
    failures = _failure_groups(report)
    server_errors = [group for group in failures if group["code"] in SERVER_ERROR_CODES]
    cases = report.get("test_cases") if isinstance(report.get("test_cases"), dict) else {}
    phases = report.get("phases") if isinstance(report.get("phases"), dict) else {}
    checks = report.get("checks") if isinstance(report.get("checks"), list) else []
    warnings = report.get("warnings") if isinstance(report.get("warnings"), dict) else {}
    failure_count = sum(group["count"] for group in failures)
    completed = report.get("stop_reason") == "completed" and report.get("complete") is True
    return {
        "ran": problem is None,
        "passed": problem is None and completed and failure_count == 0,
        "completed": completed,
        "stop_reason": _text(report.get("stop_reason"), 40) or None,
        "problem": problem,
        "summary_line": lines[-1] if lines else None,
        "schemathesis_version": _text(report.get("schemathesis_version"), 40) or None,
        "checks": sorted(_text(name, 60) for name in checks if isinstance(name, str)),
        "phases": {
            _text(name, 40): _text(value.get("status"), 20)
            for name, value in phases.items()
            if isinstance(value, dict)
        },
        "test_cases": {
            key: _int(cases.get(key)) for key in ("generated", "with_failures", "errored")
        },
        "failures": failures,
        "failure_count": failure_count,
        "server_errors": sum(group["count"] for group in server_errors),
        "server_error_operations": sorted(
            {op for group in server_errors for op in group["operations"]}
        ),
        "warnings": sorted(
            _text(name, 60) for name, value in warnings.items() if isinstance(value, list) and value
        ),
        "max_examples": max_examples,
        "seed": seed,
        "exit_code": execution.get("exit_code"),
        "output": output,
    }
