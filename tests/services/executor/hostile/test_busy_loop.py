"""``while True: pass`` hits the CPU limit, not the wall clock."""

from __future__ import annotations

from typing import TYPE_CHECKING

from devgen.services.executor.sandbox import Limits, Verdict

if TYPE_CHECKING:
    from tests.services.executor.conftest import RunPython, Unharmed


async def test_busy_loop_hits_the_cpu_limit(py: RunPython, unharmed: Unharmed) -> None:
    result = await py("while True:\n    pass\n", limits=Limits(cpu_time_s=1, wall_time_s=10))
    assert result.verdict is Verdict.TIME_LIMIT, result
    assert result.signal == 9
    # rusage reads somewhat under the kernel's count on a loaded machine (see runner.decide)
    assert 0.5 <= result.cpu_time_s < 2.0
    await unharmed()
