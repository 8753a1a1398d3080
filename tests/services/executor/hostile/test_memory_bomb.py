"""Memory bomb: allocation fails at the memory limit."""

from __future__ import annotations

from typing import TYPE_CHECKING

from devgen.services.executor.sandbox import MIB, Limits, Verdict

if TYPE_CHECKING:
    from tests.services.executor.conftest import RunPython, Unharmed

BOMB = """
hoard = []
while True:
    hoard.append(bytearray(8 * 1024 * 1024))
"""


async def test_memory_bomb_hits_the_memory_limit(py: RunPython, unharmed: Unharmed) -> None:
    result = await py(BOMB, limits=Limits(memory_bytes=128 * MIB))
    assert result.verdict is Verdict.MEMORY_LIMIT, result
    assert result.isolation.memory == "rlimit-as"
    # Only a memory cgroup knows the peak; without one it is reported unknown.
    assert result.peak_memory_bytes is None
    await unharmed()
