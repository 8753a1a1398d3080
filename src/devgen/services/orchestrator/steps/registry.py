"""Which executor does each built-in step type's work, and each compensation's."""

from __future__ import annotations

from collections.abc import Mapping

from devgen.services.orchestrator.steps.analyze import AnalyzeStep
from devgen.services.orchestrator.steps.base import StepExecutor
from devgen.services.orchestrator.steps.compensation import DeleteArtifacts
from devgen.services.orchestrator.steps.contract import ContractStep
from devgen.services.orchestrator.steps.generate import GenerateStep
from devgen.services.orchestrator.steps.notify import NotifyStep
from devgen.services.orchestrator.steps.package import PackageStep
from devgen.services.orchestrator.steps.repair import RepairStep
from devgen.services.orchestrator.steps.test import TestStep
from devgen.services.orchestrator.steps.validate import ValidateStep


def default_executors() -> dict[str, StepExecutor]:
    """An executor per step type and per compensation (``compensate:<name>``)."""
    return {
        "analyze": AnalyzeStep(),
        "generate": GenerateStep(),
        "validate": ValidateStep(),
        "test": TestStep(),
        "contract": ContractStep(),
        "repair": RepairStep(),
        "package": PackageStep(),
        "notify": NotifyStep(),
        "compensate:delete_artifacts": DeleteArtifacts(),
    }


def executor_for(executors: Mapping[str, StepExecutor], task_type: str) -> StepExecutor:
    """The executor of ``task_type``; ``KeyError`` for a type nobody implements."""
    return executors[task_type]
