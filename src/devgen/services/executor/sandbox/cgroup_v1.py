"""cgroup v1: one group per controller, ``<own group>/devgen-<hash>/exec-<id>`` in each.

v1 mounts each controller as its own hierarchy (``/sys/fs/cgroup/memory``,
``/pids``, ``/cpu``...). The devgen parent sits under the group this process
was started in (per controller, from ``/proc/self/cgroup``), so limits an
operator put on the executor's own group still cover its executions.

- memory: ``memory.limit_in_bytes`` (+ ``memory.memsw.limit_in_bytes`` at the
  same value where swap accounting exists, ``memory.swappiness=0``), the
  OOM killer kept on (``memory.oom_control`` = 0): at the limit the kernel
  kills inside the group and counts it in ``memory.oom_control``'s
  ``oom_kill`` (kernel 4.13+; ``memory.failcnt`` before), which makes the
  verdict ``memory_limit``. Peak: ``memory.max_usage_in_bytes``.
- pids: ``pids.max``.
- cpu (optional): ``cpu.cfs_quota_us`` over ``cpu.cfs_period_us``. The
  parent's ``cpu.shares`` is 1024 per slot: under contention all executions
  together weigh as much as one ordinary process per slot, as they did
  before they shared a group (the quota is a ceiling, the weight a share).
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from devgen.services.executor.sandbox import cgroups
from devgen.services.executor.sandbox.cgroups import CPU_PERIOD_US, CgroupParent, ExecutionGroup
from devgen.services.executor.sandbox.limits import Limits

REQUIRED = ("memory", "pids")
OPTIONAL = ("cpu",)
# A file the kernel creates in every (non-root) group of the controller: proof
# that a directory made there is a cgroup, not a plain directory on a tmpfs.
MARKERS = {"memory": "memory.limit_in_bytes", "pids": "pids.max", "cpu": "cpu.cfs_quota_us"}
_SHARES_PER_SLOT = 1024  # the weight of one process at the default nice level
_MAX_SHARES = 262_144


class V1Group(ExecutionGroup):
    """``exec-<id>`` in each controller's hierarchy."""

    def __init__(self, paths: dict[str, Path]) -> None:
        self.paths = paths

    def create(self, limits: Limits) -> None:
        """Make a directory per controller and write the limits."""
        for path in self.paths.values():
            path.mkdir(mode=0o755)
        memory = self.paths["memory"]
        cgroups.write(memory / "memory.limit_in_bytes", str(limits.memory_bytes))
        if (memory / "memory.memsw.limit_in_bytes").exists():
            # Memory + swap at the same value: no swap at all for the group.
            cgroups.write(memory / "memory.memsw.limit_in_bytes", str(limits.memory_bytes))
        with contextlib.suppress(OSError):
            cgroups.write(memory / "memory.swappiness", "0")
        cgroups.write(memory / "memory.oom_control", "0")
        cgroups.write(self.paths["pids"] / "pids.max", str(limits.processes))
        if (cpu := self.paths.get("cpu")) is not None:
            quota = max(1000, round(limits.cpus * CPU_PERIOD_US))
            cgroups.write(cpu / "cpu.cfs_period_us", str(CPU_PERIOD_US))
            cgroups.write(cpu / "cpu.cfs_quota_us", str(quota))

    def attach(self, pid: int) -> None:
        """Move ``pid`` into the group of every controller."""
        for path in self.paths.values():
            cgroups.write(path / "cgroup.procs", str(pid))

    def oom_killed(self) -> bool:
        """``oom_kill`` of ``memory.oom_control``; on kernels without it, ``memory.failcnt``."""
        memory = self.paths["memory"]
        control = cgroups.read_keyed(memory / "memory.oom_control")
        if "oom_kill" in control:
            return control["oom_kill"] > 0
        return (cgroups.read_int(memory / "memory.failcnt") or 0) > 0

    def peak_memory(self) -> int | None:
        """``memory.max_usage_in_bytes``."""
        return cgroups.read_int(self.paths["memory"] / "memory.max_usage_in_bytes")

    def destroy(self) -> None:
        """SIGKILL what is left (v1 has no ``cgroup.kill``), then ``rmdir`` each directory."""
        for path in self.paths.values():
            cgroups.kill_members(path)
        for path in self.paths.values():
            cgroups.remove_dir(path)


class V1Parent(CgroupParent):
    """``devgen-<hash>`` in each controller's hierarchy."""

    kind = "cgroup-v1"

    def __init__(self, paths: dict[str, Path]) -> None:
        self.paths = paths
        self.cpu = "cpu" in paths

    def group(self, name: str) -> V1Group:
        """``<parent>/<name>`` under every controller."""
        return V1Group({controller: path / name for controller, path in self.paths.items()})

    def directories(self) -> list[Path]:
        """One directory per controller."""
        return list(self.paths.values())


def own_groups(proc_self_cgroup: str) -> dict[str, str]:
    """Controller -> this process's group path, from ``/proc/self/cgroup`` (v1 lines only)."""
    found: dict[str, str] = {}
    for line in proc_self_cgroup.splitlines():
        _, _, rest = line.partition(":")
        controllers, _, path = rest.partition(":")
        for controller in controllers.split(","):
            if controller:
                found[controller] = path or "/"
    return found


def parent_path(root: Path, controller: str, own: str | None, name: str) -> Path:
    """Where ``devgen-<hash>`` goes for ``controller``: under this process's group of it."""
    hierarchy = root / controller
    if not (hierarchy / "cgroup.procs").is_file():
        raise OSError(f"{hierarchy} is not a mounted cgroup v1 hierarchy")
    base = hierarchy / own.lstrip("/") if own else hierarchy
    if not base.is_dir():
        # A container that mounts its own subtree as the root without a
        # cgroup namespace shows the host's path in /proc/self/cgroup.
        base = hierarchy
    return base / name


def _parent_dir(root: Path, controller: str, own: str | None, name: str) -> Path:
    """Make ``devgen-<hash>`` under this process's group of ``controller``."""
    parent = parent_path(root, controller, own, name)
    parent.mkdir(mode=0o755, exist_ok=True)
    if not (parent / MARKERS[controller]).exists():
        with contextlib.suppress(OSError):
            parent.rmdir()
        raise OSError(f"{parent} is not a {controller} cgroup (no {MARKERS[controller]})")
    return parent


def open_parent(
    root: Path, proc_self_cgroup: str, name: str, *, slots: int = 1
) -> tuple[V1Parent, list[str]]:
    """The v1 parent for executions, and notes on optional controllers left out.

    ``OSError`` (with the reason) when memory or pids cannot be used.
    """
    own = own_groups(proc_self_cgroup)
    paths: dict[str, Path] = {}
    try:
        for controller in REQUIRED:
            paths[controller] = _parent_dir(root, controller, own.get(controller), name)
    except OSError:
        for made in paths.values():
            with contextlib.suppress(OSError):
                made.rmdir()
        raise
    notes: list[str] = []
    for controller in OPTIONAL:
        try:
            paths[controller] = _parent_dir(root, controller, own.get(controller), name)
            if controller == "cpu":
                shares = min(_MAX_SHARES, _SHARES_PER_SLOT * slots)
                cgroups.write(paths[controller] / "cpu.shares", str(shares))
        except OSError as exc:
            notes.append(f"cgroup v1 {controller}: {exc}; not limited")
    return V1Parent(paths), notes
