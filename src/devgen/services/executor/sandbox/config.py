"""How the executor isolates: the settings the service passes to :class:`Sandbox`."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from devgen.services.executor.sandbox.cgroup_probe import CGROUP_ROOT, CgroupMode
from devgen.services.executor.sandbox.limits import LimitMaxima

Mode = Literal["bwrap", "unsafe-none"]


def _default_slots() -> int:
    return max(2, 2 * (os.cpu_count() or 1))


class SandboxConfig(BaseModel):
    """How the executor isolates; filled from the service's settings.

    ``state_dir`` holds the per-execution tmpfs mounts and runtime views; it
    must be reachable (search permission) by the slot uids, and must not be
    the platform's data directory. ``protected_paths`` (e.g. the data
    directory) can never be mounted into a sandbox.

    ``cgroups`` picks how resources are bounded (see :mod:`.cgroup_probe`):
    ``auto`` (cgroup v2, else v1, else rlimits), ``v2``/``v1`` (required),
    ``off`` (rlimits only). ``cgroup_parent`` is a delegated cgroup v2
    directory to use instead of the one this process runs in.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    mode: Mode = "bwrap"
    state_dir: Path = Path("/var/lib/devgen-executor")
    slots: int = Field(default_factory=_default_slots, ge=1, le=1000)
    base_uid: int = Field(60000, ge=1000)
    base_gid: int = Field(60000, ge=1000)
    runtime_dirs: tuple[Path, ...] = (Path(sys.base_prefix),)
    protected_paths: tuple[Path, ...] = ()
    maxima: LimitMaxima = LimitMaxima()
    bwrap: str | None = None
    prlimit: str | None = None  # unused since rlimits are set with prlimit(2); kept for callers
    cgroups: CgroupMode = "auto"
    cgroup_parent: Path | None = None
    cgroup_root: Path = CGROUP_ROOT

    @model_validator(mode="after")
    def _parent_is_v2(self) -> SandboxConfig:
        if self.cgroup_parent is not None and self.cgroups in ("v1", "off"):
            raise ValueError(
                "cgroup_parent is a cgroup v2 directory; "
                f"it cannot be used with cgroups={self.cgroups!r}"
            )
        return self
