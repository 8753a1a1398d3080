"""Settings only the orchestrator reads: leases, workers, pipeline defaults."""

from __future__ import annotations

import os
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

ContractPhase = Literal["examples", "coverage", "fuzzing", "stateful"]
"""A phase of ``schemathesis run``."""


class OrchestratorSettings(BaseSettings):
    """How runs are claimed, retried and bounded (``DEVGEN_ORCHESTRATOR_*``)."""

    # Every name starts with ``orchestrator_`` under the common ``DEVGEN_`` prefix.

    model_config = SettingsConfigDict(
        env_prefix="DEVGEN_", env_file=".env", extra="ignore", frozen=True
    )

    orchestrator_lease_seconds: float = Field(
        default=15.0,
        gt=0.5,
        le=3600,
        description="How long a claimed step stays ours without a heartbeat; after that "
        "another worker (or this one after a restart) takes it over.",
    )
    orchestrator_poll_seconds: float = Field(
        default=1.0,
        gt=0,
        le=60,
        description="How often an idle worker looks for work it was not woken for "
        "(other replicas' runs, expired leases, back-offs that ended).",
    )
    orchestrator_workers: int = Field(
        default=8, ge=1, le=256, description="Steps this process runs at the same time."
    )
    orchestrator_default_engine: Literal["auto", "template", "llm", "hybrid"] = Field(
        default="auto",
        description="The engine of runs and projects that name none: `auto` is `hybrid` "
        "when codegen offers it (a model is configured there), else `template`.",
    )
    orchestrator_default_engine_cache_seconds: float = Field(
        default=60.0,
        ge=0,
        le=3600,
        description="How long the answer to `auto` (codegen's catalog) is kept.",
    )
    orchestrator_engine_enabled: bool = Field(
        default=True, description="Run steps in this process (false: API only)."
    )
    orchestrator_default_step_timeout_seconds: float = Field(
        default=600.0,
        gt=0,
        le=86_400,
        description="Timeout of a workflow step that does not set `timeout_seconds`.",
    )
    orchestrator_progress_poll_seconds: float = Field(
        default=1.0,
        gt=0,
        le=60,
        description="How often a running generate step reads codegen's progress "
        "(one step progress note at most per poll, plus one per finished file).",
    )
    orchestrator_max_repair_iterations: int = Field(
        default=3,
        ge=0,
        le=20,
        description="Repair rounds of the LLM engine's repair loop, unless the workflow says.",
    )
    orchestrator_test_wall_time_seconds: float = Field(
        default=60.0, gt=0, le=3600, description="Wall-time limit of one generated test run."
    )
    orchestrator_test_cpu_time_seconds: float = Field(
        default=30.0, gt=0, le=3600, description="CPU-time limit of one generated test run."
    )
    orchestrator_test_memory_bytes: int = Field(
        default=1024 * 1024 * 1024, gt=0, description="Memory limit of one generated test run."
    )
    orchestrator_contract_max_examples: int = Field(
        default=10,
        ge=1,
        le=1000,
        description="Cases schemathesis generates per operation in the contract step.",
    )
    # The coverage phase (deterministic boundary cases, ~700 on the library example) takes
    # more than half of the check's CPU, but it is the phase that sends the boundary values
    # (an id of 0) which find server errors the random phases miss.
    orchestrator_contract_phases: Annotated[list[ContractPhase], NoDecode] = Field(
        default=["examples", "coverage", "fuzzing", "stateful"],
        min_length=1,
        description="The schemathesis phases of the contract step, comma-separated "
        "(examples, coverage, fuzzing, stateful).",
    )
    # Two processes finish the library's check in 6.1 s instead of 7.7 s on two cores; the
    # second server and schemathesis start cost ~1.7 s of CPU more in all. The execution
    # asks the sandbox for as many cores, so the executor's DEVGEN_EXECUTOR_MAX_CPUS (the
    # machine's cores by default) must allow it: hence no more than this machine has.
    orchestrator_contract_processes: int = Field(
        default_factory=lambda: min(2, os.cpu_count() or 1),
        ge=1,
        le=4,
        description="schemathesis processes the contract step shares the phases out over, "
        "run at once, each against a server and a database of its own; the execution gets "
        "as many cores [default: 2, or 1 on a one-core machine].",
    )
    # Within the executor's caps (DEVGEN_EXECUTOR_MAX_WALL_TIME_S / _MAX_CPU_TIME_S).
    orchestrator_contract_wall_time_seconds: float = Field(
        default=60.0, gt=0, le=3600, description="Wall-time limit of one contract run."
    )
    orchestrator_contract_cpu_time_seconds: float = Field(
        default=30.0, gt=0, le=3600, description="CPU-time limit of one contract run."
    )
    orchestrator_inline_output_bytes: int = Field(
        default=64 * 1024,
        ge=1024,
        le=16 * 1024 * 1024,
        description="Step outputs larger than this are kept in storage and referenced.",
    )
    orchestrator_execution_poll_seconds: float = Field(
        default=0.2,
        gt=0,
        le=10,
        description="How often a test step asks the executor whether its run finished.",
    )
    orchestrator_stream_recheck_seconds: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="How often a run's event stream asks identity whether the credential it "
        "was opened with still holds (it ends when not, and at the credential's expiry).",
    )
    orchestrator_streams_per_user: int = Field(
        default=10,
        ge=1,
        le=10_000,
        description="Event streams one user may hold open at once in this process; one "
        "more is refused (429).",
    )
    orchestrator_streams_per_tenant: int = Field(
        default=100,
        ge=1,
        le=100_000,
        description="Event streams one tenant's users may hold open at once in this process; "
        "one more is refused (429).",
    )

    @field_validator("orchestrator_contract_phases", mode="before")
    @classmethod
    def _split_phases(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value
