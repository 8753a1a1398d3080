"""Memory bomb: the execution stops at its memory limit, however it allocates."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from devgen.services.executor.sandbox import MIB, Limits, Verdict
from tests.services.executor.conftest import host_cgroups

if TYPE_CHECKING:
    from tests.services.executor.conftest import RunPython, Unharmed

BOMB = """
hoard = []
while True:
    hoard.append(bytearray(8 * 1024 * 1024))
"""

# Four processes of 64 MiB each: 256 MiB in all, under a limit of 128 MiB.
SPREAD = """
import os, time
children = []
for _ in range(4):
    pid = os.fork()
    if pid == 0:
        block = bytearray(64 * 1024 * 1024)
        for offset in range(0, len(block), 4096):
            block[offset] = 1
        time.sleep(1)
        os._exit(0)
    children.append(pid)
print([os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in children])
"""

# Memory no address space limit sees: memfd pages (each file under
# RLIMIT_FSIZE, so many of them), 512 MiB in all.
MEMFD_HOARD = """
import mmap, os
areas = []
for _ in range(64):
    fd = os.memfd_create("hoard")
    os.ftruncate(fd, 8 * 1024 * 1024)
    area = mmap.mmap(fd, 8 * 1024 * 1024)
    for offset in range(0, len(area), 4096):
        area[offset] = 1
    areas.append(area)
"""


async def test_memory_bomb_hits_the_memory_limit(py: RunPython, unharmed: Unharmed) -> None:
    result = await py(BOMB, limits=Limits(memory_bytes=128 * MIB))
    assert result.verdict is Verdict.MEMORY_LIMIT, result
    assert result.isolation.memory == host_cgroups()
    assert result.peak_memory_bytes is not None
    assert 64 * MIB < result.peak_memory_bytes <= 128 * MIB
    await unharmed()


@pytest.mark.parametrize("cgroups", ["off"])
async def test_without_a_cgroup_the_address_space_limit_stops_it(
    py: RunPython, unharmed: Unharmed
) -> None:
    result = await py(BOMB, limits=Limits(memory_bytes=128 * MIB))
    assert result.verdict is Verdict.MEMORY_LIMIT, result
    assert result.isolation.memory == "rlimit-as"
    # Only a memory cgroup knows the peak; without one it is reported unknown.
    assert result.peak_memory_bytes is None
    await unharmed()


async def test_memory_spread_over_processes_counts_once(py: RunPython, unharmed: Unharmed) -> None:
    result = await py(SPREAD, limits=Limits(memory_bytes=128 * MIB, wall_time_s=30))
    assert result.verdict is Verdict.MEMORY_LIMIT, result
    assert result.peak_memory_bytes is not None
    assert result.peak_memory_bytes <= 128 * MIB
    await unharmed()


async def test_memfd_pages_count_against_the_memory_limit(
    py: RunPython, unharmed: Unharmed
) -> None:
    result = await py(MEMFD_HOARD, limits=Limits(memory_bytes=128 * MIB))
    assert result.verdict is Verdict.MEMORY_LIMIT, result.stderr_text
    assert result.peak_memory_bytes is not None
    assert result.peak_memory_bytes <= 128 * MIB
    await unharmed()
