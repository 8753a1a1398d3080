"""How the executor isolates: the settings the service passes to :class:`Sandbox`."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

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
    cgroup_parent: Path | None = None
