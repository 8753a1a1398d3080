"""The root filesystem is read-only; only the workspace and the temp dirs are writable."""

from __future__ import annotations

from typing import TYPE_CHECKING

from devgen.services.executor.sandbox import Verdict

if TYPE_CHECKING:
    from tests.services.executor.conftest import RunPython, Unharmed

TARGETS = [
    "/evil",
    "/usr/evil",
    "/usr/bin/python3",
    "/etc/passwd",
    "/etc/evil",
    "/root/evil",
    "/dev/evil",
    "/proc/sys/kernel/hostname",
    "/home/evil",
]

WRITE = f"""
for path in {TARGETS!r}:
    try:
        with open(path, "a") as f:
            f.write("x")
        print(path, "WROTE")
    except OSError as exc:
        print(path, exc.errno)
"""


async def test_writes_outside_the_workspace_fail(py: RunPython, unharmed: Unharmed) -> None:
    result = await py(WRITE)
    assert result.verdict is Verdict.SUCCEEDED, result
    lines = result.stdout_text.splitlines()
    assert len(lines) == len(TARGETS)
    for line in lines:
        _, outcome = line.split()
        # EROFS (30) for the read-only mounts, EACCES (13) for /proc/sys, ENOENT
        # (2) where a parent does not even exist inside.
        assert outcome in {"30", "13", "2"}, line
    await unharmed()
