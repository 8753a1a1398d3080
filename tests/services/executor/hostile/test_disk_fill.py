"""Filling the workspace or /tmp stops at the per-execution tmpfs size."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from devgen.services.executor.sandbox import MIB, Limits, Verdict

if TYPE_CHECKING:
    from tests.services.executor.conftest import RunPython, Unharmed

FILL = """
import errno, os, sys
target = sys.argv[1] if len(sys.argv) > 1 else {where!r}
written = 0
chunk = b"x" * (1024 * 1024)
try:
    for n in range(10_000):
        with open(os.path.join(target, f"fill{{n}}"), "wb") as f:
            for _ in range(4):  # 4 MiB files: under the 16 MiB file size limit
                f.write(chunk)
                f.flush()
                written += len(chunk)
except OSError as exc:
    print(errno.errorcode[exc.errno], written)
"""


@pytest.mark.parametrize("where", ["/workspace", "/tmp", "/var/tmp"])
async def test_disk_fill_stops_at_the_workspace_size(
    py: RunPython, unharmed: Unharmed, where: str
) -> None:
    result = await py(FILL.format(where=where), limits=Limits(workspace_bytes=24 * MIB))
    assert result.verdict is Verdict.SUCCEEDED, result
    code, written = result.stdout.split()
    assert code == b"ENOSPC"
    assert 16 * MIB <= int(written) <= 24 * MIB
    await unharmed()


async def test_one_file_stops_at_the_file_size_limit(py: RunPython, unharmed: Unharmed) -> None:
    code = """
import errno
try:
    with open("big", "wb") as f:
        while True:
            f.write(b"x" * 1024 * 1024)
            f.flush()
except OSError as exc:
    print(errno.errorcode[exc.errno])
"""
    result = await py(code, limits=Limits(file_size_bytes=2 * MIB))
    assert result.verdict is Verdict.SUCCEEDED, result
    assert result.stdout == b"EFBIG\n"
    await unharmed()
