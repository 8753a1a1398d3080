"""One cgroup per execution: what every layout offers, and the file handling they share.

A :class:`CgroupParent` is the devgen-owned group (``devgen-<hash of the
state dir>``) under which each execution gets ``exec-<run id>``: one
directory on cgroup v2 (:mod:`.cgroup_v2`), one per controller on v1
(:mod:`.cgroup_v1`). :mod:`.cgroup_probe` picks one at start. With it,
memory (everything the tree touches: heap, tmpfs, page cache, kernel
memory), processes and CPU time are bounded for the execution as a whole,
and the peak memory and OOM kills are known exactly.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable
from pathlib import Path

import structlog

from devgen.services.executor.sandbox.limits import Limits

log = structlog.get_logger(__name__)

EXEC_PREFIX = "exec-"
CPU_PERIOD_US = 100_000
_RMDIR_TRIES = 200
_RMDIR_PAUSE_S = 0.005


def parent_name(state_dir: Path) -> str:
    """The devgen-owned group of the executor using ``state_dir``.

    Named after the state directory, which one live executor owns at a time:
    two executors on one host never share a parent, nor clean each other's.
    """
    digest = hashlib.sha256(os.fsencode(os.path.realpath(state_dir))).hexdigest()[:16]
    return f"devgen-{digest}"


class ExecutionGroup(ABC):
    """The cgroup(s) of one execution: created, limited, joined, read, removed."""

    @abstractmethod
    def create(self, limits: Limits) -> None:
        """Make the group and write its limits (before anything joins it)."""

    @abstractmethod
    def attach(self, pid: int) -> None:
        """Move ``pid`` (held at bwrap's gate, not yet running untrusted code) in."""

    @abstractmethod
    def oom_killed(self) -> bool:
        """Whether the kernel OOM-killed anything in the group."""

    @abstractmethod
    def peak_memory(self) -> int | None:
        """The most memory the group held at once, in bytes (``None`` if unknown)."""

    @abstractmethod
    def destroy(self) -> None:
        """Kill whatever is left and remove the group."""


class CgroupParent(ABC):
    """Where executions' groups are made, and what they can bound."""

    kind: str  # "cgroup-v2" or "cgroup-v1"
    cpu: bool  # whether a CPU quota can be set

    @abstractmethod
    def group(self, name: str) -> ExecutionGroup:
        """The (not yet created) group of one execution."""

    @abstractmethod
    def directories(self) -> list[Path]:
        """The parent's own directories (one on v2, one per controller on v1)."""

    def remove_stale(self) -> int:
        """Kill and remove the execution groups a dead previous process left here."""
        removed = 0
        for directory in self.directories():
            with contextlib.suppress(FileNotFoundError):
                for entry in directory.iterdir():
                    if entry.name.startswith(EXEC_PREFIX) and entry.is_dir():
                        kill_members(entry)
                        removed += remove_dir(entry)
        if removed:
            log.info("sandbox.stale_cgroups_removed", count=removed, kind=self.kind)
        return removed

    def close(self) -> None:
        """Remove the parent's directories once no execution group is left in them."""
        self.remove_stale()
        for directory in self.directories():
            with contextlib.suppress(OSError):
                directory.rmdir()


def write(path: Path, value: str) -> None:
    """Write a control file: never through a symlink, one ``write`` (the kernel's unit)."""
    fd = os.open(path, os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        os.write(fd, value.encode())
    finally:
        os.close(fd)


def read_int(path: Path) -> int | None:
    """A control file holding one integer, or ``None`` if absent or not a number."""
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def read_keyed(path: Path) -> dict[str, int]:
    """A flat-keyed control file (``key value`` per line), e.g. ``memory.events``."""
    values: dict[str, int] = {}
    with contextlib.suppress(OSError):
        for line in path.read_text().splitlines():
            key, _, value = line.partition(" ")
            with contextlib.suppress(ValueError):
                values[key] = int(value)
    return values


def members(group: Path) -> list[int]:
    """The pids in ``group`` (``cgroup.procs``)."""
    try:
        return [int(pid) for pid in (group / "cgroup.procs").read_text().split()]
    except (OSError, ValueError):
        return []


def _in_group(pid: int, group: Path) -> bool:
    """Whether ``pid`` still belongs to ``group`` (so a reused pid is never signalled)."""
    relative = group.name
    try:
        lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
    except OSError:
        return False
    return any(line.rstrip("/").endswith("/" + relative) for line in lines)


def kill_members(group: Path, pids: Iterable[int] | None = None) -> None:
    """SIGKILL every process of ``group``, through a pidfd checked to still be a member."""
    for pid in pids if pids is not None else members(group):
        try:
            pidfd = os.pidfd_open(pid)
        except OSError:
            continue
        try:
            if _in_group(pid, group):
                with contextlib.suppress(OSError):
                    signal.pidfd_send_signal(pidfd, signal.SIGKILL)
        finally:
            os.close(pidfd)


def remove_dir(group: Path) -> int:
    """``rmdir`` a group, retrying while its killed tasks finish exiting. 1 if removed."""
    for attempt in range(_RMDIR_TRIES):
        try:
            group.rmdir()
        except FileNotFoundError:
            return 0
        except OSError:
            # EBUSY until every task is gone; kill again what may have been
            # forked between the read of cgroup.procs and the kill.
            if attempt % 20 == 19:
                kill_members(group)
            time.sleep(_RMDIR_PAUSE_S)
        else:
            return 1
    log.warning("sandbox.cgroup_not_removed", path=str(group))
    return 0
