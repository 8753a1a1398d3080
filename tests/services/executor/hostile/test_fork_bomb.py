"""Fork bomb: the process count is capped per execution and the bomb dies with it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from devgen.services.executor.sandbox import Limits, Verdict
from tests.services.executor.conftest import host_cgroups

if TYPE_CHECKING:
    from tests.services.executor.conftest import RunPython, Unharmed

COUNT_FORKS = """
import os, time
made = 0
while True:
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        time.sleep(60)
        os._exit(0)
    made += 1
print(made)
"""

BOMB = """
import os
while True:
    try:
        os.fork()
    except OSError:
        pass
"""


@pytest.mark.parametrize("cgroups", ["auto", "off"])
async def test_forks_stop_at_the_process_limit(
    py: RunPython, unharmed: Unharmed, cgroups: str
) -> None:
    result = await py(COUNT_FORKS, limits=Limits(processes=16))
    assert result.verdict is Verdict.SUCCEEDED, result
    # The program itself is one of the 16 processes.
    assert int(result.stdout) == 15
    expected = host_cgroups() if cgroups == "auto" else "rlimit-nproc"
    assert result.isolation.processes == expected
    await unharmed()


@pytest.mark.slow
async def test_fork_bomb_is_stopped_by_the_wall_clock(py: RunPython, unharmed: Unharmed) -> None:
    result = await py(BOMB, limits=Limits(wall_time_s=2, processes=32))
    assert result.verdict is Verdict.WALL_TIME_LIMIT
    await unharmed()
