"""A double-forked daemon does not survive the execution."""

from __future__ import annotations

from typing import TYPE_CHECKING

from devgen.services.executor.sandbox import Verdict

if TYPE_CHECKING:
    from tests.services.executor.conftest import RunPython, Unharmed

DAEMON = """
import os, sys, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        # the daemon: detached, no stdio, would run for a minute
        devnull = os.open("/dev/null", os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        time.sleep(60)
        os._exit(0)
    os._exit(0)
time.sleep(0.2)
print("parent done")
"""


async def test_double_forked_daemon_is_gone_when_run_returns(
    py: RunPython, unharmed: Unharmed
) -> None:
    result = await py(DAEMON)
    assert result.verdict is Verdict.SUCCEEDED, result
    assert result.stdout == b"parent done\n"
    assert result.wall_time_s < 5  # nothing waited for the daemon
    await unharmed()  # includes: no process of any slot uid is left
