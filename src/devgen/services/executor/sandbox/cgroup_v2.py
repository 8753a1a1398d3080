"""cgroup v2: ``<delegated>/devgen-<hash>/exec-<id>``, one directory per execution.

``memory.max`` with ``memory.swap.max=0`` and ``memory.oom.group=1`` (an
OOM kills the whole execution, and ``memory.events`` records it),
``pids.max``, ``cpu.max`` when the cpu controller is delegated too; the
peak from ``memory.peak`` (kernel 5.19+); ``cgroup.kill`` at the end. The
parent's ``cpu.weight`` is 100 (the default) per slot, as ``cpu.shares`` on v1.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from devgen.services.executor.sandbox import cgroups
from devgen.services.executor.sandbox.cgroups import CPU_PERIOD_US, CgroupParent, ExecutionGroup
from devgen.services.executor.sandbox.limits import Limits

REQUIRED = ("memory", "pids")
_WEIGHT_PER_SLOT = 100
_MAX_WEIGHT = 10_000


def enable_controllers(directory: Path, wanted: tuple[str, ...]) -> None:
    """Enable ``wanted`` for the children of ``directory`` (``OSError`` if refused)."""
    enabled = (directory / "cgroup.subtree_control").read_text().split()
    missing = [name for name in wanted if name not in enabled]
    if missing:
        cgroups.write(directory / "cgroup.subtree_control", " ".join(f"+{n}" for n in missing))


def offered(directory: Path) -> set[str]:
    """The controllers ``directory`` offers (``cgroup.controllers``); ``OSError`` if none."""
    return set((directory / "cgroup.controllers").read_text().split())


class V2Group(ExecutionGroup):
    """``<parent>/exec-<id>``."""

    def __init__(self, path: Path, *, cpu: bool) -> None:
        self.path = path
        self._cpu = cpu

    def create(self, limits: Limits) -> None:
        """Make the directory and write the limits."""
        self.path.mkdir(mode=0o755)
        cgroups.write(self.path / "memory.max", str(limits.memory_bytes))
        if (self.path / "memory.swap.max").exists():
            cgroups.write(self.path / "memory.swap.max", "0")
        if (self.path / "memory.oom.group").exists():
            cgroups.write(self.path / "memory.oom.group", "1")
        cgroups.write(self.path / "pids.max", str(limits.processes))
        if self._cpu:
            quota = max(1000, round(limits.cpus * CPU_PERIOD_US))
            cgroups.write(self.path / "cpu.max", f"{quota} {CPU_PERIOD_US}")

    def attach(self, pid: int) -> None:
        """Move ``pid`` into the cgroup."""
        cgroups.write(self.path / "cgroup.procs", str(pid))

    def oom_killed(self) -> bool:
        """``oom_kill`` (or ``oom_group_kill``) in ``memory.events``."""
        events = cgroups.read_keyed(self.path / "memory.events")
        return events.get("oom_kill", 0) > 0 or events.get("oom_group_kill", 0) > 0

    def peak_memory(self) -> int | None:
        """``memory.peak`` in bytes (kernel 5.19+), else ``None``."""
        return cgroups.read_int(self.path / "memory.peak")

    def destroy(self) -> None:
        """``cgroup.kill`` (kernel 5.14+, else a SIGKILL per member), then ``rmdir``."""
        if (self.path / "cgroup.kill").exists():
            with contextlib.suppress(OSError):
                cgroups.write(self.path / "cgroup.kill", "1")
        else:
            cgroups.kill_members(self.path)
        cgroups.remove_dir(self.path)


class V2Parent(CgroupParent):
    """``<delegated>/devgen-<hash>``, the controllers enabled for its children."""

    kind = "cgroup-v2"

    def __init__(self, path: Path, *, cpu: bool) -> None:
        self.path = path
        self.cpu = cpu

    def group(self, name: str) -> V2Group:
        """``<parent>/<name>``."""
        return V2Group(self.path / name, cpu=self.cpu)

    def directories(self) -> list[Path]:
        """The one parent directory."""
        return [self.path]


def open_parent(delegated: Path, name: str, *, slots: int = 1) -> V2Parent:
    """Make ``<delegated>/<name>`` a parent of execution groups; ``OSError`` if it cannot be.

    ``delegated`` must offer memory and pids (cpu is used when offered) and
    let us enable them for its children: it holds no process itself (the
    v2 "no internal processes" rule), unless it is a root.
    """
    controllers = offered(delegated)
    missing = [name for name in REQUIRED if name not in controllers]
    if missing:
        raise OSError(f"{delegated} does not offer the {' and '.join(missing)} controller(s)")
    wanted = (*REQUIRED, "cpu") if "cpu" in controllers else REQUIRED
    enable_controllers(delegated, wanted)
    parent = delegated / name
    parent.mkdir(mode=0o755, exist_ok=True)
    got = offered(parent)
    if not set(REQUIRED) <= got:
        raise OSError(f"{parent} did not get the memory and pids controllers")
    enable_controllers(parent, tuple(n for n in wanted if n in got))
    cpu = "cpu" in wanted and "cpu" in got
    if cpu:
        weight = min(_MAX_WEIGHT, _WEIGHT_PER_SLOT * slots)
        cgroups.write(parent / "cpu.weight", str(weight))
    return V2Parent(parent, cpu=cpu)
