"""The contract step's phases shared out over several schemathesis processes.

How the runner (``orchestrator/contract_runner.py``) splits the phases and merges the
processes' JSON reports into one; the setting and the sandbox command that carry the
number of processes. The runs themselves are in ``test_generated_contract.py`` and the
pipeline tests.
"""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from devgen.services.orchestrator.contract import contract_command
from devgen.services.orchestrator.contract_runner import merge_reports, phase_groups
from devgen.services.orchestrator.settings import OrchestratorSettings

ALL = ["examples", "coverage", "fuzzing", "stateful"]


def test_two_processes_split_the_coverage_phase_from_the_random_ones():
    assert phase_groups(ALL, 2) == [["examples", "coverage"], ["fuzzing", "stateful"]]


def test_one_process_runs_every_phase_in_schemathesis_order():
    assert phase_groups(["stateful", "coverage", "examples"], 1) == [
        ["examples", "coverage", "stateful"]
    ]


def test_no_process_is_started_without_a_phase():
    assert phase_groups(["coverage"], 4) == [["coverage"]]
    assert phase_groups(ALL, 4) == [["coverage"], ["fuzzing"], ["stateful"], ["examples"]]


def _report(phases: dict[str, dict], **fields) -> dict:
    return {
        "schemathesis_version": "4.32.5",
        "running_time": 1.0,
        "stop_reason": "completed",
        "complete": True,
        "exit_code": 0,
        "phases": phases,
        "test_cases": {"generated": 10, "with_failures": 0, "errored": 0},
        "failures": [],
        "errors": [],
        "warnings": {"missing_test_data": []},
        "valid_rates": {},
        **fields,
    }


def _ran() -> dict:
    return {"status": "success", "skip_reason": None}


def _not_asked() -> dict:
    return {"status": "skip", "skip_reason": "disabled"}


def test_merged_report_has_each_phase_from_the_process_that_ran_it():
    first = _report(
        {
            "examples": {"status": "skip", "skip_reason": None},
            "coverage": _ran(),
            "fuzzing": _not_asked(),
            "stateful": _not_asked(),
        }
    )
    second = _report(
        {
            "examples": _not_asked(),
            "coverage": _not_asked(),
            "fuzzing": _ran(),
            "stateful": {"status": "failure", "skip_reason": None},
        }
    )

    merged = merge_reports([first, second])

    assert merged["phases"] == {
        "examples": {"status": "skip", "skip_reason": None},
        "coverage": _ran(),
        "fuzzing": _ran(),
        "stateful": {"status": "failure", "skip_reason": None},
    }


def test_merged_report_adds_cases_and_joins_failures_of_the_same_kind():
    server_error = {"code": "ST101", "title": "Server error", "count": 2, "operations": ["GET /a"]}
    first = _report({}, failures=[server_error], exit_code=1, running_time=3.5)
    second = _report(
        {},
        failures=[
            {
                "code": "ST101",
                "title": "Server error",
                "count": 1,
                "operations": ["GET /a", "GET /b"],
            },
            {"code": "ST201", "title": "Schema violation", "count": 4, "operations": ["POST /a"]},
        ],
        warnings={"missing_test_data": ["GET /b"], "missing_auth": ["GET /c"]},
        running_time=2.0,
    )

    merged = merge_reports([first, second])

    assert merged["test_cases"] == {"generated": 20, "with_failures": 0, "errored": 0}
    assert merged["failures"] == [
        {"code": "ST101", "title": "Server error", "count": 3, "operations": ["GET /a", "GET /b"]},
        {"code": "ST201", "title": "Schema violation", "count": 4, "operations": ["POST /a"]},
    ]
    assert merged["exit_code"] == 1
    assert merged["running_time"] == 3.5
    assert merged["warnings"] == {"missing_test_data": ["GET /b"], "missing_auth": ["GET /c"]}
    assert merged["complete"] is True
    assert merged["stop_reason"] == "completed"


def test_merged_report_is_incomplete_when_one_process_was_interrupted():
    merged = merge_reports([_report({}), _report({}, stop_reason="interrupted", complete=False)])

    assert merged["stop_reason"] == "interrupted"
    assert merged["complete"] is False


def test_by_default_two_processes_and_never_more_than_the_machine_has(
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.setattr("os.cpu_count", lambda: 8)
    assert OrchestratorSettings().orchestrator_contract_processes == 2
    monkeypatch.setattr("os.cpu_count", lambda: 1)
    assert OrchestratorSettings().orchestrator_contract_processes == 1


@pytest.mark.parametrize("value", ["0", "5", "two"])
def test_a_process_count_out_of_range_is_refused(monkeypatch: pytest.MonkeyPatch, value: str):
    monkeypatch.setenv("DEVGEN_ORCHESTRATOR_CONTRACT_PROCESSES", value)

    with pytest.raises(ValidationError, match="orchestrator_contract_processes"):
        OrchestratorSettings()


def test_the_sandbox_command_passes_the_process_count_to_the_runner():
    command = contract_command(max_examples=5, seed=1, budget_seconds=30, phases=ALL, processes=2)

    assert command[command.index("--processes") + 1] == "2"
