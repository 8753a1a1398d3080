"""Memory, CPU and process limits bound the whole execution, not each process.

Through ``POST /execute`` on this machine's real cgroups (v1 controllers here
and in CI; v2 where the host offers it). Without a cgroup an execution of
eight processes held 1.7 GiB under a 256 MiB limit, and nothing bounded its
CPU share.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from devgen.services.executor.sandbox import MIB
from tests.services.executor.api.conftest import SERVICE_BASE_UID, Execute
from tests.services.executor.conftest import slot_processes

# Eight processes each touching every page of 200 MiB, then holding it.
EIGHT_HOARDERS = """
import os, time
children = []
for _ in range(8):
    pid = os.fork()
    if pid == 0:
        block = bytearray(200 * 1024 * 1024)
        for offset in range(0, len(block), 4096):
            block[offset] = 1
        time.sleep(2)
        os._exit(0)
    children.append(pid)
print([os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in children])
"""

ONE_HOARDER = """
block = bytearray(100 * 1024 * 1024)
for offset in range(0, len(block), 4096):
    block[offset] = 1
print(len(block))
"""

# Four processes spinning for three seconds of wall time each.
SPINNERS = """
import os, time
deadline = time.monotonic() + 3
children = []
for _ in range(4):
    pid = os.fork()
    if pid == 0:
        while time.monotonic() < deadline:
            pass
        os._exit(0)
    children.append(pid)
for pid in children:
    os.waitpid(pid, 0)
"""

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


def _expected_kind() -> str:
    """What this host offers: the cgroup v2 root, else the v1 controllers (as here and in CI)."""
    return "cgroup-v2" if Path("/sys/fs/cgroup/cgroup.controllers").exists() else "cgroup-v1"


async def _run(execute: Execute, code: str, **limits: Any) -> dict[str, Any]:
    response = await execute(files={"main.py": code}, entry="main.py", limits=limits, wait=True)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    assert data["status"] == "finished", data
    return data


async def test_eight_processes_of_200_mib_share_one_256_mib_limit(execute: Execute) -> None:
    data = await _run(execute, EIGHT_HOARDERS, memory_bytes=256 * MIB, wall_time_s=30)

    assert data["verdict"] == "memory_limit", data["result"]
    result = data["result"]
    assert result["isolation"]["resources"] == _expected_kind()
    assert result["isolation"]["memory"] == _expected_kind()
    # The execution as a whole stayed within its limit, and got close to it.
    assert 200 * MIB <= result["peak_memory_bytes"] <= 256 * MIB
    assert slot_processes(SERVICE_BASE_UID, 2) == []


async def test_the_peak_memory_of_an_execution_is_reported(execute: Execute) -> None:
    data = await _run(execute, ONE_HOARDER, memory_bytes=256 * MIB)

    assert data["verdict"] == "succeeded", data["result"]
    peak = data["result"]["peak_memory_bytes"]
    # 100 MiB touched, plus the interpreter; never above the limit.
    assert 100 * MIB <= peak <= 256 * MIB


async def test_an_execution_gets_no_more_than_its_cpu_share(execute: Execute) -> None:
    limited = await _run(execute, SPINNERS, cpus=0.1, wall_time_s=30)
    control = await _run(execute, SPINNERS, cpus=2.0, wall_time_s=30)

    assert limited["verdict"] == control["verdict"] == "succeeded"
    assert limited["result"]["isolation"]["cpu"] == _expected_kind()
    share = limited["result"]["cpu_time_s"] / limited["result"]["wall_time_s"]
    control_share = control["result"]["cpu_time_s"] / control["result"]["wall_time_s"]
    print(f"CPU share: {share:.3f} under a quota of 0.1, {control_share:.3f} under 2.0")
    # Under a quota of 0.1 CPU four spinners get about that; the control
    # (same program, a quota it cannot reach here) shows they would take
    # more. A low quota keeps the two apart even on a machine loaded enough
    # to give the control only a third of a core.
    assert share <= 0.1 * 1.5, limited["result"]
    assert control_share > 0.2, control["result"]


async def test_the_pids_limit_stops_a_fork_bomb(execute: Execute) -> None:
    data = await _run(execute, COUNT_FORKS, processes=16)

    assert data["verdict"] == "succeeded", data["result"]
    # The program itself is one of the 16.
    assert data["result"]["stdout"] == "15\n"
    assert data["result"]["isolation"]["processes"] == _expected_kind()
    assert slot_processes(SERVICE_BASE_UID, 2) == []
