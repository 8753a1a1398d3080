"""What a step executor is given, what it returns, and how it fails.

The engine owns runs, leases and retries; an executor only does its one
job with what the :class:`StepContext` hands it: its inputs (the outputs
of earlier steps, already resolved), the run's parameters, a caller for
the other services acting for the run's user, and a checkpoint that
survives the worker dying. Every call with an effect carries an
idempotency key from :meth:`StepContext.idempotency_key`, derived from the
run, the step and the attempt, so a step taken over after a crash repeats
its calls without repeating their effects.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import BaseModel

from devgen.services.orchestrator.calls import ServiceCaller
from devgen.services.orchestrator.settings import OrchestratorSettings

_REQUIRED: Any = object()


class StepError(Exception):
    """A step failed; ``retryable`` says whether another attempt may succeed."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        retryable: bool = False,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retryable = retryable
        self.details = dict(details or {})

    def to_dict(self) -> dict[str, Any]:
        """Plain data for the task's ``error`` and the run's."""
        return {"code": self.code, "message": self.message, "details": self.details}


@dataclass(frozen=True)
class RunParameters:
    """What the run was asked to do (from the project or the request)."""

    requirement: str | None
    spec: dict[str, Any] | None
    engine: str
    analyst: str
    language: str
    template: str
    budget: dict[str, Any]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunParameters:
        """Read the run's stored ``params``."""
        return cls(
            requirement=data.get("requirement"),
            spec=data.get("spec"),
            engine=str(data.get("engine", "template")),
            analyst=str(data.get("analyst", "template")),
            language=str(data.get("language", "python")),
            template=str(data.get("template", "fastapi-service")),
            budget=dict(data.get("budget") or {}),
        )


@dataclass(frozen=True)
class FinishedStep:
    """An earlier step of the run as the package step's report sees it."""

    step: str
    type: str
    state: str
    output: dict[str, Any]
    usage: dict[str, Any]
    started_at: str | None
    finished_at: str | None
    duration_seconds: float | None
    attempts: int


@dataclass
class Budget:
    """The run's token and cost budget and what earlier steps spent of it."""

    max_tokens: int | None
    max_cost_usd: float | None
    spent_tokens: int = 0
    spent_cost_usd: float = 0.0

    def remaining(self) -> dict[str, Any]:
        """What is left, in the form codegen's ``budget`` field takes."""
        left: dict[str, Any] = {}
        if self.max_tokens is not None:
            left["max_tokens"] = max(self.max_tokens - self.spent_tokens, 0)
        if self.max_cost_usd is not None:
            left["max_cost_usd"] = round(max(self.max_cost_usd - self.spent_cost_usd, 0.0), 6)
        return left

    @property
    def exhausted(self) -> bool:
        """Nothing is left of the tokens or of the money."""
        left = self.remaining()
        return bool(left.get("max_tokens", 1) <= 0 or left.get("max_cost_usd", 1.0) <= 0)

    def charge(self, usage: Mapping[str, Any]) -> None:
        """Count a call's ``usage`` (``total_tokens``, ``cost_usd``) against the budget."""
        self.spent_tokens += int(usage.get("total_tokens", 0) or 0)
        self.spent_cost_usd += float(usage.get("cost_usd", 0.0) or 0.0)


@dataclass
class StepContext:
    """Everything one attempt of one step may use."""

    run_id: uuid.UUID
    tenant_id: uuid.UUID
    user_id: uuid.UUID | None
    task_id: uuid.UUID
    step: str
    type: str
    attempt: int
    workflow: str
    params: RunParameters
    inputs: dict[str, Any]
    options: BaseModel
    checkpoint: dict[str, Any]
    services: ServiceCaller
    settings: OrchestratorSettings
    budget: Budget
    finished: dict[str, FinishedStep] = field(default_factory=dict)
    save_checkpoint: Callable[[dict[str, Any]], Awaitable[None]] | None = None
    note: Callable[[str, dict[str, Any]], Awaitable[None]] | None = None
    resolver: Callable[[Any], Awaitable[Any]] | None = None

    def idempotency_key(self, call: str) -> str:
        """The key of one call of this attempt; the same after a takeover."""
        return f"devgen-run-{self.run_id}-{self.step}-{self.attempt}-{call}"

    async def checkpoint_update(self, **values: Any) -> None:
        """Merge ``values`` into the checkpoint and persist it (while the lease is held)."""
        self.checkpoint.update(values)
        if self.save_checkpoint is not None:
            await self.save_checkpoint(dict(self.checkpoint))

    async def input(self, name: str, default: Any = _REQUIRED) -> Any:
        """The value of input ``name``, read from storage on first use when kept there.

        Resolved lazily so a step that decides to skip (``repair`` after
        passing tests) never downloads the project it will not touch.
        """
        if name not in self.inputs:
            if default is _REQUIRED:
                raise KeyError(name)
            return default
        value = self.inputs[name] = await self.resolve(self.inputs[name])
        return value

    async def resolve(self, value: Any) -> Any:
        """The value behind an output kept in storage (anything else as it is)."""
        return value if self.resolver is None else await self.resolver(value)

    async def progress(self, message: str, **data: Any) -> None:
        """A note on the run's event stream (not a transition; audit does not get it)."""
        if self.note is not None:
            await self.note(message, data)


@dataclass
class StepOutcome:
    """What an attempt produced: its output and what it spent, or why it skipped."""

    output: dict[str, Any] = field(default_factory=dict)
    usage: dict[str, Any] = field(default_factory=dict)
    skipped_because: str | None = None
    notifications: list[dict[str, Any]] = field(default_factory=list)
    """Announcements the engine emits (``orchestrator.run.notified``) with the step's success."""

    @classmethod
    def skip(cls, reason: str) -> StepOutcome:
        """Nothing to do: the step is ``skipped`` and offers no outputs."""
        return cls(skipped_because=reason)


class StepExecutor(Protocol):
    """Does one built-in step type's work."""

    async def run(self, context: StepContext) -> StepOutcome:
        """Do the step; raise ``StepError`` when it fails."""
        ...
