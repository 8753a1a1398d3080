"""Settings only the executor reads.

Besides these, the executor uses the chassis settings: ``DEVGEN_ENV`` (the
unsafe mode is refused in production) and ``DEVGEN_DATA_DIR`` (never mounted
into a sandbox; it also names the default state directory).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from devgen.services.executor.sandbox import MIB, LimitMaxima

STATE_ROOT = Path("/var/lib/devgen-executor")
ENVIRONMENTS_DIR = Path("/var/cache/devgen-executor/environments")


def _cores() -> int:
    return os.cpu_count() or 1


class ExecutorSettings(BaseSettings):
    """Isolation mode, worker pool, queue, quotas, request bounds and environments.

    Every field reads ``DEVGEN_<NAME>`` (``sandbox`` is ``DEVGEN_SANDBOX``,
    the others ``DEVGEN_EXECUTOR_...``).
    """

    model_config = SettingsConfigDict(
        env_prefix="DEVGEN_", env_file=".env", extra="ignore", frozen=True
    )

    sandbox: Literal["bwrap", "unsafe-none"] = Field(
        default="bwrap",
        description="`unsafe-none` runs code WITHOUT isolation: development only, "
        "refused when DEVGEN_ENV=production.",
    )
    executor_workers: int = Field(default_factory=_cores, ge=1, le=256)
    executor_queue_size: int = Field(default=64, ge=0, le=100_000)
    executor_tenant_concurrency: int | None = Field(
        default=None, ge=1, description="Running executions per tenant; default: every worker."
    )
    executor_tenant_queue: int | None = Field(
        default=None, ge=0, description="Queued executions per tenant; default: half the queue."
    )
    executor_wait_seconds: float = Field(
        default=120.0, gt=0, le=3600, description="Longest a `wait=true` request is held."
    )
    executor_max_files: int = Field(default=2000, ge=1, le=10_000)
    executor_max_files_bytes: int = Field(default=8 * MIB, ge=1024, le=256 * MIB)
    executor_max_collect: int = Field(default=32, ge=0, le=1000)
    executor_max_stdin_bytes: int = Field(default=1 * MIB, ge=0, le=16 * MIB)
    executor_state_dir: Path | None = Field(
        default=None,
        description="Per-execution mounts; default /var/lib/devgen-executor/<data dir hash>.",
    )
    executor_environments_dir: Path = ENVIRONMENTS_DIR
    executor_build_timeout_seconds: float = Field(default=600.0, gt=0, le=7200)
    executor_stream_recheck_seconds: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="How often a log stream asks identity whether its credential still holds.",
    )
    executor_streams_per_user: int = Field(
        default=10, ge=1, le=10_000, description="Log streams one user may hold open at once."
    )
    executor_streams_per_tenant: int = Field(
        default=100, ge=1, le=100_000, description="Log streams one tenant may hold open at once."
    )
    executor_tenant_builds: int = Field(
        default=2, ge=1, le=1000, description="Environment builds one tenant may run at once."
    )
    executor_tenant_environments: int = Field(
        default=50,
        ge=1,
        le=100_000,
        description="Environments one tenant may keep (built-in ones do not count).",
    )
    executor_prebuild: bool = Field(
        default=False, description="Build the built-in environments in the background at start."
    )
    executor_check_on_start: bool | None = Field(
        default=None,
        description="Run a trivial program through the sandbox at start; default: "
        "only when DEVGEN_ENV=production (elsewhere the first execution prepares it).",
    )
    executor_uid_base: int = Field(default=60000, ge=1000, le=2**31 - 100_000)
    executor_cgroups: Literal["auto", "v2", "v1", "off"] = Field(
        default="auto",
        description="How executions' memory, processes and CPU share are bounded: `auto` "
        "(cgroup v2, else v1, else per-process rlimits), `v2`/`v1` (required: refuse to "
        "start without), `off` (rlimits only).",
    )
    executor_cgroup_parent: Path | None = Field(
        default=None,
        description="A delegated cgroup v2 directory under which executions' groups are made.",
    )
    executor_heartbeat_seconds: float = Field(default=5.0, gt=0, le=300)
    executor_lease_seconds: float = Field(default=30.0, gt=0, le=3600)
    executor_max_wall_time_s: float = Field(default=60.0, gt=0, le=3600)
    executor_max_cpu_time_s: float = Field(default=30.0, gt=0, le=3600)
    executor_max_memory_bytes: int = Field(default=1024 * MIB, ge=16 * MIB)
    executor_max_cpus: float = Field(
        default_factory=lambda: float(_cores()),
        ge=0.01,
        le=1024,
        description="The largest CPU share (cores) one execution may ask for; default: cores.",
    )
    executor_max_processes: int = Field(default=128, ge=4, le=4096)
    executor_max_workspace_bytes: int = Field(default=256 * MIB, ge=MIB)
    executor_max_output_bytes: int = Field(default=8 * MIB, ge=1024)

    @model_validator(mode="after")
    def _cgroup_parent_is_v2(self) -> ExecutorSettings:
        if self.executor_cgroup_parent is not None and self.executor_cgroups in ("v1", "off"):
            raise ValueError(
                "DEVGEN_EXECUTOR_CGROUP_PARENT is a cgroup v2 directory; it cannot be used "
                f"with DEVGEN_EXECUTOR_CGROUPS={self.executor_cgroups}"
            )
        return self

    @model_validator(mode="after")
    def _lease_outlives_heartbeat(self) -> ExecutorSettings:
        if self.executor_lease_seconds <= 2 * self.executor_heartbeat_seconds:
            raise ValueError(
                "DEVGEN_EXECUTOR_LEASE_SECONDS must be more than twice "
                "DEVGEN_EXECUTOR_HEARTBEAT_SECONDS (a live executor would lose its executions)"
            )
        return self

    @property
    def tenant_concurrency(self) -> int:
        """Executions of one tenant that may run at once."""
        return self.executor_tenant_concurrency or self.executor_workers

    @property
    def tenant_queue(self) -> int:
        """Executions of one tenant that may wait in the queue at once."""
        if self.executor_tenant_queue is not None:
            return self.executor_tenant_queue
        return max(1, self.executor_queue_size // 2) if self.executor_queue_size else 0

    @property
    def maxima(self) -> LimitMaxima:
        """The largest limits a request may ask for."""
        defaults = LimitMaxima()
        return LimitMaxima(
            wall_time_s=self.executor_max_wall_time_s,
            cpu_time_s=self.executor_max_cpu_time_s,
            memory_bytes=self.executor_max_memory_bytes,
            cpus=self.executor_max_cpus,
            processes=self.executor_max_processes,
            stack_bytes=defaults.stack_bytes,
            open_files=defaults.open_files,
            file_size_bytes=defaults.file_size_bytes,
            workspace_bytes=self.executor_max_workspace_bytes,
            output_bytes=self.executor_max_output_bytes,
        )

    def state_dir_for(self, data_dir: Path) -> Path:
        """The sandbox state directory: the setting, or one derived from the data directory.

        Derived rather than inside the data directory: the slot uids must be
        able to traverse every parent of it, and a data directory under
        ``/root`` or a test's private temporary directory is not.
        """
        if self.executor_state_dir is not None:
            return self.executor_state_dir
        key = hashlib.sha256(os.fsencode(os.path.realpath(data_dir))).hexdigest()[:16]
        return STATE_ROOT / key

    def max_body_bytes(self) -> int:
        """The request-body limit: files and stdin (base64 takes 4/3) plus room for JSON.

        Above it the chassis answers 413 before the body is read; below it the
        exact per-field limits are checked on the parsed request.
        """
        return 2 * (self.executor_max_files_bytes + self.executor_max_stdin_bytes) + MIB
