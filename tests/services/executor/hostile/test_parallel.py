"""50 parallel requests: all run, each in its own workspace, slots bounding concurrency."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest

from devgen.services.executor.sandbox import Verdict

if TYPE_CHECKING:
    from tests.services.executor.conftest import RunPython, Unharmed

CODE = """
import os, sys, time
n = sys.stdin.read()
assert os.listdir(".") == ["main.py"], os.listdir(".")  # no one else's files
with open("mine", "w") as f:
    f.write(n)
time.sleep(0.05)
print(n, open("mine").read(), os.getuid())
"""


@pytest.mark.slow
async def test_fifty_parallel_requests(py: RunPython, unharmed: Unharmed) -> None:
    results = await asyncio.gather(*(py(CODE, stdin=str(n).encode()) for n in range(50)))
    for n, result in enumerate(results):
        assert result.verdict is Verdict.SUCCEEDED, result
        assert result.stdout == f"{n} {n} 1000\n".encode()
    # the pool never ran two executions under one host uid at once
    assert {r.isolation.host_uid for r in results} <= {
        results[0].isolation.host_uid - results[0].isolation.slot + i
        for i in range(4)  # type: ignore[operator]
    }
    await unharmed()
