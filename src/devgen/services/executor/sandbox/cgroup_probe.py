"""Pick, at start, how executions' resources are bounded: cgroup v2, cgroup v1, or rlimits.

In order: a delegated cgroup v2 directory the operator named
(``cgroup_parent``; if it is unusable the sandbox refuses to start); the
cgroup v2 group this process runs in, when the host is on v2 and lets us
enable memory and pids below it; the v1 memory and pids controllers (plus
cpu when mounted); otherwise rlimits, the last fallback. Each option not
taken leaves a note saying why, logged at start.

Only reads and ``mkdir``/writes under the given root: the unit tests point
it at a fake cgroup tree.
"""

from __future__ import annotations

import contextlib
import errno
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from devgen.services.executor.sandbox import cgroup_v1, cgroup_v2, cgroups
from devgen.services.executor.sandbox.cgroups import EXEC_PREFIX, CgroupParent
from devgen.services.executor.sandbox.errors import SandboxUnavailableError

CGROUP_ROOT = Path("/sys/fs/cgroup")
PROC_SELF_CGROUP = Path("/proc/self/cgroup")

CgroupMode = Literal["auto", "v2", "v1", "off"]


@dataclass(frozen=True, slots=True)
class CgroupChoice:
    """The parent executions' groups go under (``None``: rlimits), and why not better."""

    parent: CgroupParent | None
    notes: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        """``cgroup-v2``, ``cgroup-v1`` or ``rlimit``."""
        return self.parent.kind if self.parent is not None else "rlimit"


def _reason(exc: OSError) -> str:
    """An ``OSError`` from the cgroup tree, said as what the operator can do about it."""
    where = f" ({exc.filename})" if exc.filename else ""
    if exc.errno == errno.EBUSY:
        return (
            f"cannot enable controllers for child groups{where}: the group holds processes "
            "(cgroup v2 allows it only in a group without any); delegate an empty group "
            "with DEVGEN_EXECUTOR_CGROUP_PARENT"
        )
    if exc.errno == errno.EROFS:
        return f"the cgroup filesystem is mounted read-only{where}"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"not allowed to create groups{where}"
    if exc.errno == errno.ENOENT:
        return f"missing{where}"
    return f"{exc.strerror}{where}" if exc.strerror else str(exc)


def _v2_root(root: Path) -> Path:
    if (root / "cgroup.controllers").exists():
        return root
    unified = root / "unified"
    if (unified / "cgroup.controllers").exists():
        if {"memory", "pids"} <= cgroup_v2.offered(unified):
            return unified
        raise OSError(f"{unified} offers no memory and pids controllers (cgroup v1 hybrid)")
    raise OSError(f"no cgroup v2 hierarchy at {root}")


def _own_v2_group(proc_self_cgroup: str) -> str:
    for line in proc_self_cgroup.splitlines():
        hierarchy, _, rest = line.partition(":")
        controllers, _, path = rest.partition(":")
        if hierarchy == "0" and not controllers:
            return path or "/"
    return "/"


def _read_self_cgroup() -> str:
    try:
        return PROC_SELF_CGROUP.read_text()
    except OSError:
        return ""


def _auto_v2(root: Path, proc_self_cgroup: str, name: str, slots: int) -> CgroupParent:
    v2_root = _v2_root(root)
    own = v2_root / _own_v2_group(proc_self_cgroup).lstrip("/")
    return cgroup_v2.open_parent(own if own.is_dir() else v2_root, name, slots=slots)


def choose(
    *,
    mode: CgroupMode,
    name: str,
    delegated: Path | None = None,
    root: Path = CGROUP_ROOT,
    proc_self_cgroup: str | None = None,
    slots: int = 1,
) -> CgroupChoice:
    """Decide and prepare the parent group ``name`` (``devgen-<hash>``) of executions.

    ``mode``: ``auto`` tries v2, then v1, then falls back to rlimits;
    ``v2``/``v1`` require that layout; ``off`` uses rlimits only. Raises
    :class:`SandboxUnavailableError` when a required layout (or the
    delegated directory) cannot be used. ``slots`` (concurrent executions)
    sets the parent's CPU weight.
    """
    if mode == "off":
        return CgroupChoice(None, ("cgroups turned off (DEVGEN_EXECUTOR_CGROUPS=off)",))
    if delegated is not None:
        try:
            return CgroupChoice(cgroup_v2.open_parent(delegated, name, slots=slots))
        except OSError as exc:
            raise SandboxUnavailableError(
                f"the delegated cgroup {delegated} is unusable: {_reason(exc)}"
            ) from exc
    if proc_self_cgroup is None:
        proc_self_cgroup = _read_self_cgroup()
    notes: list[str] = []
    if mode in ("auto", "v2"):
        try:
            return CgroupChoice(_auto_v2(root, proc_self_cgroup, name, slots))
        except OSError as exc:
            notes.append(f"cgroup v2: {_reason(exc)}")
    if mode in ("auto", "v1"):
        try:
            parent, skipped = cgroup_v1.open_parent(root, proc_self_cgroup, name, slots=slots)
        except OSError as exc:
            notes.append(f"cgroup v1: {_reason(exc)}")
        else:
            return CgroupChoice(parent, (*notes, *skipped))
    if mode != "auto":
        raise SandboxUnavailableError(f"DEVGEN_EXECUTOR_CGROUPS={mode} but: " + "; ".join(notes))
    return CgroupChoice(None, tuple(notes))


def _possible_parents(
    name: str, delegated: Path | None, root: Path, proc_self_cgroup: str
) -> list[Path]:
    found = [delegated / name] if delegated is not None else []
    with contextlib.suppress(OSError):
        v2_root = _v2_root(root)
        found += [v2_root / _own_v2_group(proc_self_cgroup).lstrip("/") / name, v2_root / name]
    own = cgroup_v1.own_groups(proc_self_cgroup)
    for controller in (*cgroup_v1.REQUIRED, *cgroup_v1.OPTIONAL):
        with contextlib.suppress(OSError):
            found.append(cgroup_v1.parent_path(root, controller, own.get(controller), name))
    return found


def reclaim(
    name: str,
    *,
    delegated: Path | None = None,
    root: Path = CGROUP_ROOT,
    proc_self_cgroup: str | None = None,
) -> int:
    """Remove the parent group ``name`` of a dead executor, wherever it made one.

    Its execution groups are killed and removed first. Creates nothing; for
    state directories reclaimed from dead owners (:mod:`..statedirs`).
    Returns how many directories were removed.
    """
    if proc_self_cgroup is None:
        proc_self_cgroup = _read_self_cgroup()
    removed = 0
    for parent in _possible_parents(name, delegated, root, proc_self_cgroup):
        if not parent.is_dir():
            continue
        with contextlib.suppress(OSError):
            for entry in parent.iterdir():
                if entry.name.startswith(EXEC_PREFIX) and entry.is_dir():
                    cgroups.kill_members(entry)
                    cgroups.remove_dir(entry)
        removed += cgroups.remove_dir(parent)
    return removed
