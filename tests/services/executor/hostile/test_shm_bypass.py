"""/dev/shm and memfd cannot be used to hold memory outside the limits."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from devgen.services.executor.sandbox import MIB, Limits, Verdict

if TYPE_CHECKING:
    from tests.services.executor.conftest import RunPython, Unharmed

FILL_SHM = """
import errno
written = 0
chunk = b"x" * (1024 * 1024)
try:
    with open("/dev/shm/hoard", "wb") as f:
        while written < 512 * 1024 * 1024:
            f.write(chunk)
            f.flush()
            written += len(chunk)
except OSError as exc:
    print(errno.errorcode[exc.errno], written)
"""

MEMFD = """
import os
try:
    os.memfd_create("hoard")
except OSError as exc:
    print(type(exc).__name__)
"""


async def test_dev_shm_is_capped_by_the_workspace_size(py: RunPython, unharmed: Unharmed) -> None:
    result = await py(FILL_SHM, limits=Limits(workspace_bytes=16 * MIB))
    assert result.verdict is Verdict.SUCCEEDED, result
    code, written = result.stdout.split()
    assert code == b"ENOSPC"
    assert int(written) <= 16 * MIB
    await unharmed()


@pytest.mark.parametrize("cgroups", ["off"])
async def test_memfd_is_denied_without_a_memory_cgroup(py: RunPython, unharmed: Unharmed) -> None:
    result = await py(MEMFD)
    assert result.verdict is Verdict.SUCCEEDED, result
    assert result.stdout == b"PermissionError\n"
    await unharmed()
