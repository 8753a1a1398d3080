"""Settings only codegen reads: how much work it takes on, and how big a request may be.

The LLM endpoint has its own settings (:class:`~devgen.services.codegen.engines.llm.LLMSettings`).
"""

from __future__ import annotations

import os

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

KIB = 1024
MIB = 1024 * KIB


def _default_workers() -> int:
    # Generation is CPU-bound and spawns ruff/python subprocesses: about one job per two
    # cores leaves room for the subprocesses and the rest of the process.
    return max(1, min(4, (os.cpu_count() or 2) // 2))


class CodegenSettings(BaseSettings):
    """Concurrency, request-size limits and the sandboxed test run."""

    model_config = SettingsConfigDict(
        env_prefix="DEVGEN_", env_file=".env", extra="ignore", frozen=True
    )

    codegen_workers: int = Field(
        default_factory=_default_workers, ge=1, le=64, description="concurrent CPU-bound jobs"
    )
    codegen_progress_interval_seconds: float = Field(
        default=1.0,
        ge=0,
        le=60,
        description="Least time between two in-flight progress notes of one generation "
        "(GET /codegen/progress/{key}); a piece of work's start and end are always noted.",
    )
    codegen_max_requirement_chars: int = Field(default=20_000, ge=100, le=100_000)
    codegen_max_spec_bytes: int = Field(default=256 * KIB, ge=4 * KIB, le=4 * MIB)
    codegen_max_entities: int = Field(default=50, ge=1, le=500)
    codegen_max_files: int = Field(default=500, ge=1, le=10_000)
    codegen_max_file_bytes: int = Field(default=512 * KIB, ge=KIB, le=16 * MIB)
    codegen_max_project_bytes: int = Field(default=1536 * KIB, ge=KIB, le=64 * MIB)
    codegen_max_failures: int = Field(default=200, ge=1, le=10_000)
    codegen_test_environment: str = Field(default="python-service", min_length=1)
    codegen_test_wall_seconds: float = Field(default=60.0, gt=0, le=3600)
    codegen_test_cpu_seconds: float = Field(default=30.0, gt=0, le=3600)
    codegen_test_memory_mib: int = Field(default=1024, ge=64, le=64 * 1024)

    def body_limit(self) -> int:
        """The request body codegen accepts: a project at its size limit, JSON-escaped."""
        # JSON escaping can double a file's size (quotes, backslashes, newlines).
        return 2 * self.codegen_max_project_bytes + 256 * KIB
