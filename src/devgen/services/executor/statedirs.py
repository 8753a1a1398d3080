"""Derived sandbox state directories: claimed by one process, reclaimed after it died.

A derived state directory (``/var/lib/devgen-executor/<hash of the data
dir>``) is named after a data directory that may never be used again (a
test's, a benchmark's). An executor killed with SIGKILL leaves its mounts
there, and the sandbox only cleans a state directory when the next executor
starts *on it*. So each executor writes its pid and process start time into
``owner``; every executor starting later unmounts and removes the
directories of dead owners.

Only unmount and ``rmdir``: a state directory may hold a bind mount of a
real host directory, and a recursive delete would go through it. The
cgroups a dead owner made (named after its state directory) go with it.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import structlog

from devgen.services.executor.lease import process_start
from devgen.services.executor.sandbox import cgroup_probe, mounts
from devgen.services.executor.sandbox.cgroups import parent_name

log = structlog.get_logger(__name__)

OWNER_FILE = "owner"
_SUBDIRS = ("runs", "views", "etc", "dev")


class StateDirInUse(RuntimeError):
    """Another live executor process owns the state directory."""


def claim(state_dir: Path) -> None:
    """Create ``state_dir`` (mode 0711) and record this process as its owner.

    Mounts a dead previous owner left are undone first. A state directory
    owned by another live process is refused: two executors must never
    share one (each would unmount the other's sandboxes).
    """
    owner = _owner(state_dir)
    if owner is not None and owner[0] != os.getpid() and _alive(*owner):
        raise StateDirInUse(
            f"the sandbox state directory {state_dir} belongs to the running executor "
            f"process {owner[0]}; give each executor process its own DEVGEN_DATA_DIR "
            "or DEVGEN_EXECUTOR_STATE_DIR"
        )
    if owner is not None and not _alive(*owner):
        mounts.unmount_all_under(state_dir)
    pid = os.getpid()
    record = f"{pid} {process_start(pid) or ''}\n"
    for _ in range(5):
        state_dir.mkdir(mode=0o711, parents=True, exist_ok=True)
        try:
            (state_dir / OWNER_FILE).write_text(record)
        except FileNotFoundError:
            continue  # tidied by another executor between mkdir and write: again
        return
    raise OSError(f"could not claim the sandbox state directory {state_dir}")


def _owner(state_dir: Path) -> tuple[int, str] | None:
    try:
        pid_text, _, started = (state_dir / OWNER_FILE).read_text().strip().partition(" ")
        return int(pid_text), started
    except (OSError, ValueError):
        return None


def _alive(pid: int, started: str) -> bool:
    return bool(started) and process_start(pid) == started


def _owner_alive(state_dir: Path) -> bool | None:
    """Whether the recorded owner runs; ``None`` when no owner was recorded."""
    owner = _owner(state_dir)
    return None if owner is None else _alive(*owner)


def release(state_dir: Path) -> None:
    """Remove an unmounted, empty state directory (rmdir only; mounts make it stay)."""
    if mounts.mounts_under(state_dir):
        return
    views = state_dir / "views"
    with contextlib.suppress(OSError):
        for entry in views.iterdir():
            with contextlib.suppress(OSError):
                entry.rmdir()
    for sub in _SUBDIRS:
        with contextlib.suppress(OSError):
            (state_dir / sub).rmdir()
    with contextlib.suppress(OSError):
        (state_dir / OWNER_FILE).unlink()
    with contextlib.suppress(OSError):
        state_dir.rmdir()


def reclaim_abandoned(root: Path, *, keep: Path, cgroup_parent: Path | None = None) -> int:
    """Unmount and remove the state directories under ``root`` whose owner died.

    A directory without an owner record is only tidied (``rmdir`` of its
    empty subdirectories) when nothing is mounted in it: it may belong to a
    live executor that has not recorded itself. A dead owner's cgroups
    (under ``cgroup_parent`` when it was delegated one) are removed too.
    Returns how many were reclaimed.
    """
    reclaimed = 0
    try:
        candidates = [entry for entry in root.iterdir() if entry.is_dir()]
    except OSError:
        return 0
    for state_dir in candidates:
        alive = _owner_alive(state_dir)
        if state_dir == keep or alive is True:
            continue
        if alive is None:
            release(state_dir)  # rmdir only; a dir with mounts stays as it is
            continue
        try:
            mounts.unmount_all_under(state_dir)
        except OSError:
            log.warning("executor.state_dir_busy", state_dir=str(state_dir))
            continue
        cgroups = parent_name(state_dir)  # named after the path: before it goes
        release(state_dir)
        cgroup_probe.reclaim(cgroups, delegated=cgroup_parent)
        reclaimed += 1
    if reclaimed:
        log.info("executor.state_dirs_reclaimed", count=reclaimed)
    return reclaimed
