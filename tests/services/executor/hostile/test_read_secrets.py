"""Host secrets are out of reach: /etc/shadow, PID 1's environment, the data dir."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from devgen.services.executor.sandbox import Verdict

if TYPE_CHECKING:
    from tests.services.executor.conftest import RunPython, Unharmed

PROBE = """
import os, sys
for path in sys.argv[1:] or {paths!r}:
    try:
        with open(path, "rb") as f:
            data = f.read()
        print(path, "READ", len(data))
    except OSError as exc:
        print(path, type(exc).__name__)
"""


async def test_shadow_and_platform_files_are_unreachable(
    py: RunPython, unharmed: Unharmed, data_dir: Path
) -> None:
    planted = str(data_dir / "platform.sqlite3")
    paths = ["/etc/shadow", "/etc/gshadow", "/root/.bash_history", planted, "/etc/ssh"]
    result = await py(PROBE.format(paths=paths))
    assert result.verdict is Verdict.SUCCEEDED, result
    assert result.stdout_text.splitlines() == [f"{path} FileNotFoundError" for path in paths]
    await unharmed()


async def test_pid_1_is_the_program_with_a_clean_environment(
    py: RunPython, unharmed: Unharmed
) -> None:
    code = """
import os
print(os.getpid())
with open("/proc/1/environ", "rb") as f:
    print(sorted(v.split(b"=")[0].decode() for v in f.read().split(b"\\0") if v))
print(sorted(os.listdir("/proc/1/task")) == [str(os.getpid())])
"""
    result = await py(code)
    assert result.verdict is Verdict.SUCCEEDED, result
    assert result.stdout == b"1\n['HOME', 'LANG', 'PATH', 'PWD']\nTrue\n"
    await unharmed()
