"""Which schemathesis phases the contract step runs: a setting, a step option, a command."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from devgen.services.orchestrator.contract import contract_command
from devgen.services.orchestrator.settings import OrchestratorSettings
from devgen.services.orchestrator.steps.types import ContractOptions


def test_by_default_every_phase_runs():
    phases = OrchestratorSettings().orchestrator_contract_phases

    assert phases == ["examples", "coverage", "fuzzing", "stateful"]


def test_the_setting_is_a_comma_separated_list(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DEVGEN_ORCHESTRATOR_CONTRACT_PHASES", " coverage, stateful ,")

    assert OrchestratorSettings().orchestrator_contract_phases == ["coverage", "stateful"]


@pytest.mark.parametrize("value", ["everything", "examples,stateless", ",", ""])
def test_an_unknown_or_empty_phase_list_is_refused(monkeypatch: pytest.MonkeyPatch, value: str):
    monkeypatch.setenv("DEVGEN_ORCHESTRATOR_CONTRACT_PHASES", value)

    with pytest.raises(ValidationError, match="orchestrator_contract_phases"):
        OrchestratorSettings()


def test_a_step_option_names_known_phases_only():
    assert ContractOptions(phases=["coverage"]).phases == ["coverage"]
    with pytest.raises(ValidationError):
        ContractOptions(phases=["everything"])
    with pytest.raises(ValidationError):
        ContractOptions(phases=[])


def test_the_sandbox_command_passes_the_phases_to_the_runner():
    command = contract_command(
        max_examples=5, seed=1, budget_seconds=30, phases=["examples", "stateful"]
    )

    assert command[command.index("--phases") + 1] == "examples,stateful"
