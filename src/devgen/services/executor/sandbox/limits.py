"""Resource limits of one execution: per-request values and the server maxima."""

from __future__ import annotations

import os

from pydantic import BaseModel, ConfigDict, Field

from devgen.services.executor.sandbox.errors import LimitExceededError

KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB


class Limits(BaseModel):
    """What one execution may use. Every field has a default; the server caps them.

    Network is not a field on purpose: it is always off and cannot be turned on.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    wall_time_s: float = Field(10.0, gt=0, description="wall-clock budget; the tree is killed")
    cpu_time_s: float = Field(5.0, gt=0, description="CPU seconds per process (RLIMIT_CPU)")
    memory_bytes: int = Field(
        256 * MIB, ge=16 * MIB, description="the execution's memory (cgroup), else per process"
    )
    cpus: float = Field(
        1.0, ge=0.01, description="CPU share of the whole execution, in cores (cgroup quota)"
    )
    processes: int = Field(64, ge=4, description="processes of the execution's uid")
    stack_bytes: int = Field(8 * MIB, ge=128 * KIB, description="RLIMIT_STACK")
    open_files: int = Field(256, ge=16, description="RLIMIT_NOFILE")
    file_size_bytes: int = Field(16 * MIB, ge=KIB, description="RLIMIT_FSIZE, and result cap")
    workspace_bytes: int = Field(64 * MIB, ge=MIB, description="tmpfs for workspace and /tmp")
    output_bytes: int = Field(1 * MIB, ge=KIB, description="cap per output stream")

    def check_within(self, maxima: LimitMaxima) -> None:
        """Raise :class:`LimitExceededError` naming every field above the server maximum."""
        over = {
            name: (getattr(self, name), getattr(maxima, name))
            for name in type(self).model_fields
            if getattr(self, name) > getattr(maxima, name)
        }
        if over:
            detail = ", ".join(f"{name}={value} > {cap}" for name, (value, cap) in over.items())
            raise LimitExceededError(f"limits above the server maxima: {detail}", fields=over)


class LimitMaxima(BaseModel):
    """The largest value a request may ask for, per field of :class:`Limits`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    wall_time_s: float = 60.0
    cpu_time_s: float = 30.0
    memory_bytes: int = 1 * GIB
    cpus: float = Field(default_factory=lambda: float(os.cpu_count() or 1))
    processes: int = 128
    stack_bytes: int = 64 * MIB
    open_files: int = 1024
    file_size_bytes: int = 64 * MIB
    workspace_bytes: int = 256 * MIB
    output_bytes: int = 8 * MIB
