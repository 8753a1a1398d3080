"""Host processes are invisible and unreachable; ``kill -9 -1`` only hits the sandbox."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from devgen.services.executor.sandbox import Verdict

if TYPE_CHECKING:
    from tests.services.executor.conftest import RunPython, Unharmed


async def test_host_pids_are_invisible_and_unkillable(py: RunPython, unharmed: Unharmed) -> None:
    host_pid = os.getpid()
    code = f"""
import os, signal, subprocess, time
child = subprocess.Popen(["sleep", "30"])
print(sorted(int(p) for p in os.listdir("/proc") if p.isdigit()))
try:
    os.kill({host_pid}, 0)
    print("host pid visible")
except ProcessLookupError:
    print("host pid unknown")
os.kill(-1, signal.SIGKILL)  # every process this one may signal, except itself
print(child.wait())
"""
    result = await py(code)
    assert result.verdict is Verdict.SUCCEEDED, result
    assert result.stdout_text.splitlines() == ["[1, 2]", "host pid unknown", "-9"]
    os.kill(host_pid, 0)  # still here
    await unharmed()
