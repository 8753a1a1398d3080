"""A cgroup v2 per execution, when the host delegated one to the executor.

With it, memory is bounded by ``memory.max`` (swap 0) — which also counts
tmpfs, page cache and kernel memory that an address-space rlimit misses —
processes by ``pids.max``, and the peak and OOM kills are known exactly.
The program's process is moved in while bwrap holds it at the gate, so no
child can be forked outside.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

from devgen.services.executor.sandbox.limits import Limits


class ExecutionCgroup:
    """``<parent>/<name>``: created, limited, joined, read, killed and removed."""

    def __init__(self, parent: Path, name: str) -> None:
        self.path = parent / name

    def create(self, limits: Limits) -> None:
        """Make the directory and write the limits."""
        self.path.mkdir(mode=0o755)
        self._write("memory.max", str(limits.memory_bytes))
        if (self.path / "memory.swap.max").exists():
            self._write("memory.swap.max", "0")
        self._write("pids.max", str(limits.processes))

    def attach(self, pid: int) -> None:
        """Move ``pid`` (not yet running untrusted code) into the cgroup."""
        self._write("cgroup.procs", str(pid))

    def oom_killed(self) -> bool:
        """Whether the kernel OOM-killed anything in the cgroup."""
        try:
            for line in (self.path / "memory.events").read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill" and int(value) > 0:
                    return True
        except (OSError, ValueError):
            return False
        return False

    def peak_memory(self) -> int | None:
        """``memory.peak`` in bytes (kernel 5.19+), else ``None``."""
        try:
            return int((self.path / "memory.peak").read_text().strip())
        except (OSError, ValueError):
            return None

    def destroy(self) -> None:
        """Kill whatever is left and remove the directory."""
        if (self.path / "cgroup.kill").exists():
            with contextlib.suppress(OSError):
                self._write("cgroup.kill", "1")
        # rmdir fails with EBUSY until the killed tasks are fully gone.
        for _ in range(200):
            try:
                self.path.rmdir()
            except FileNotFoundError:
                return
            except OSError:
                time.sleep(0.005)
            else:
                return

    def _write(self, name: str, value: str) -> None:
        fd = os.open(self.path / name, os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        try:
            os.write(fd, value.encode())
        finally:
            os.close(fd)
