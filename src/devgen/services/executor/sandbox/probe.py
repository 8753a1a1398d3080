"""What isolation this host offers: bwrap, root, user namespaces, the cgroup layout.

Probing only reads files and runs ``bwrap --version``; the end-to-end proof
that namespaces can really be created is :meth:`Sandbox.check`, which runs a
tiny program through the full chain.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from devgen.services.executor.sandbox import cgroup_v2, creds
from devgen.services.executor.sandbox.cgroup_probe import CGROUP_ROOT

INSTALL_HINT = "install bubblewrap: apt-get install -y bubblewrap"


@dataclass(frozen=True, slots=True)
class HostCapabilities:
    """The isolation facts of this host, as probed."""

    bwrap: str | None
    bwrap_version: str | None
    prlimit: str | None  # informational: rlimits are set with prlimit(2), no binary needed
    is_root: bool
    thread_credentials: bool  # per-thread setresuid numbers known for this arch
    max_user_namespaces: int
    cgroup_layout: str  # "v2", "v1-hybrid", "v1" or "none" (which one is used: cgroup_probe)
    cgroup_parent: Path | None  # a usable delegated cgroup v2 dir (memory + pids), if any
    cgroup_problem: str | None  # why cgroup_parent is None when one was configured

    def problems(self) -> list[str]:
        """What prevents the hardened mode, as human-readable sentences."""
        found: list[str] = []
        if self.bwrap is None:
            found.append(f"bwrap (bubblewrap) is not installed; {INSTALL_HINT}")
        if not self.is_root:
            found.append(
                "the executor must run as root (it starts every execution as a per-slot "
                "unprivileged uid and mounts a size-limited tmpfs per execution)"
            )
        elif not self.thread_credentials:
            found.append("unsupported CPU architecture (x86_64 and aarch64 are supported)")
        if self.max_user_namespaces == 0:
            found.append(
                "user namespaces are disabled (user.max_user_namespaces=0); "
                "enable them: sysctl -w user.max_user_namespaces=15000"
            )
        return found


def _bwrap_version(path: str) -> str | None:
    try:
        out = subprocess.run(  # noqa: S603 - fixed argv, absolute path found by which()
            [path, "--version"], capture_output=True, timeout=5, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = out.stdout.decode(errors="replace").strip()
    return text.removeprefix("bubblewrap ").strip() or None


def _max_user_namespaces() -> int:
    try:
        return int(Path("/proc/sys/user/max_user_namespaces").read_text().strip())
    except (OSError, ValueError):
        return 0


def cgroup_layout(root: Path = CGROUP_ROOT) -> str:
    """Name the cgroup layout mounted at ``root``."""
    if (root / "cgroup.controllers").exists():
        return "v2"
    if (root / "unified" / "cgroup.controllers").exists():
        return "v1-hybrid"
    if (root / "memory").is_dir():
        return "v1"
    return "none"


def check_cgroup_parent(parent: Path) -> str | None:
    """Return why ``parent`` cannot hold per-execution cgroups, or ``None`` if it can.

    It must be a cgroup v2 directory whose ``cgroup.controllers`` offers
    ``memory`` and ``pids`` and in which we may enable them (and ``cpu``,
    when offered) for children.
    """
    controllers_file = parent / "cgroup.controllers"
    try:
        controllers = cgroup_v2.offered(parent)
    except OSError as exc:
        return f"{controllers_file} is not readable ({exc.strerror}); not a cgroup v2 directory"
    missing = set(cgroup_v2.REQUIRED) - controllers
    if missing:
        return f"{parent} does not offer the {' and '.join(sorted(missing))} controller(s)"
    wanted = (*cgroup_v2.REQUIRED, "cpu") if "cpu" in controllers else cgroup_v2.REQUIRED
    try:
        cgroup_v2.enable_controllers(parent, wanted)
    except OSError as exc:
        return (
            f"cannot enable {' and '.join(wanted)} in {parent}/cgroup.subtree_control "
            f"({exc.strerror}); delegate the directory to the executor and keep "
            "no process in it"
        )
    return None


def probe_host(
    *,
    bwrap: str | None = None,
    prlimit: str | None = None,
    cgroup_parent: Path | None = None,
) -> HostCapabilities:
    """Probe the host. Explicit tool paths win over ``PATH`` lookup."""
    bwrap_path = bwrap or shutil.which("bwrap")
    problem = check_cgroup_parent(cgroup_parent) if cgroup_parent is not None else None
    return HostCapabilities(
        bwrap=bwrap_path,
        bwrap_version=_bwrap_version(bwrap_path) if bwrap_path else None,
        prlimit=prlimit or shutil.which("prlimit"),
        is_root=os.geteuid() == 0,
        thread_credentials=creds.supported(),
        max_user_namespaces=_max_user_namespaces(),
        cgroup_layout=cgroup_layout(),
        cgroup_parent=cgroup_parent if cgroup_parent is not None and problem is None else None,
        cgroup_problem=problem,
    )
