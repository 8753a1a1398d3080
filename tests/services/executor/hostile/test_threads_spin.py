"""Threads spinning on every core: CPU time of all threads counts against the limit."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest

from devgen.services.executor.sandbox import Limits, Verdict

if TYPE_CHECKING:
    from tests.services.executor.conftest import RunPython, Unharmed

# hashlib releases the GIL on large buffers, so these threads really run in
# parallel, one per core.
SPIN = f"""
import hashlib, threading
data = b"x" * 4_000_000
def spin():
    while True:
        hashlib.sha256(data).digest()
threads = [threading.Thread(target=spin) for _ in range({max(2, os.cpu_count() or 2)})]
for t in threads:
    t.start()
for t in threads:
    t.join()
"""


@pytest.mark.slow
async def test_threads_on_every_core_hit_the_cpu_limit(py: RunPython, unharmed: Unharmed) -> None:
    result = await py(SPIN, limits=Limits(cpu_time_s=2, wall_time_s=20))
    assert result.verdict is Verdict.TIME_LIMIT, result
    assert result.cpu_time_s >= 1.0  # see runner.decide: rusage under-reads under load
    await unharmed()
