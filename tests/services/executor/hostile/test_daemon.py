"""A double-forked daemon does not survive the execution."""

from __future__ import annotations

from typing import TYPE_CHECKING

from devgen.services.executor.sandbox import Verdict

if TYPE_CHECKING:
    from tests.services.executor.conftest import RunPython, Unharmed

DAEMON = """
import os, sys, time
ready_r, ready_w = os.pipe()
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        # the daemon: detached, no stdio, would run for a minute
        devnull = os.open("/dev/null", os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        os.write(ready_w, str(os.getpid()).encode())
        os.close(ready_w)
        time.sleep(60)
        os._exit(0)
    os._exit(0)
os.close(ready_w)
daemon = int(os.read(ready_r, 32))  # returns once the daemon runs, detached
os.kill(daemon, 0)  # still there as the parent leaves
print("parent done")
"""


async def test_double_forked_daemon_is_gone_when_run_returns(
    py: RunPython, unharmed: Unharmed
) -> None:
    result = await py(DAEMON)
    # The daemon would outlive the 10 s wall limit: had anything waited for
    # it, the verdict would be wall_time_limit.
    assert result.verdict is Verdict.SUCCEEDED, result
    assert result.stdout == b"parent done\n"
    await unharmed()  # includes: no process of any slot uid is left
