"""Nothing written by one execution is visible to the next."""

from __future__ import annotations

from typing import TYPE_CHECKING

from devgen.services.executor.sandbox import Verdict

if TYPE_CHECKING:
    from tests.services.executor.conftest import RunPython, Unharmed

PLACES = ["/tmp/left", "/dev/shm/left", "/var/tmp/left", "/workspace/left"]

WRITE = f"""
for path in {PLACES!r}:
    with open(path, "w") as f:
        f.write("from the first execution")
print("written")
"""

READ = f"""
import os
print(sorted(p for p in {PLACES!r} if os.path.exists(p)))
"""


async def test_files_do_not_persist_between_executions(py: RunPython, unharmed: Unharmed) -> None:
    first = await py(WRITE)
    assert first.verdict is Verdict.SUCCEEDED, first
    assert first.stdout == b"written\n"
    second = await py(READ)
    assert second.verdict is Verdict.SUCCEEDED, second
    assert second.stdout == b"[]\n"
    await unharmed()
