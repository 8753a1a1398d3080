"""Sleeping uses no CPU: the wall-clock timer kills the tree."""

from __future__ import annotations

from typing import TYPE_CHECKING

from devgen.services.executor.sandbox import Limits, Verdict

if TYPE_CHECKING:
    from tests.services.executor.conftest import RunPython, Unharmed


async def test_sleep_past_the_wall_limit(py: RunPython, unharmed: Unharmed) -> None:
    result = await py(
        "import time\nprint('going to sleep', flush=True)\ntime.sleep(30)\n",
        limits=Limits(wall_time_s=1),
    )
    assert result.verdict is Verdict.WALL_TIME_LIMIT
    assert result.stdout == b"going to sleep\n"  # output up to the kill is kept
    assert 1.0 <= result.wall_time_s < 5.0
    assert result.cpu_time_s < 0.5
    await unharmed()
