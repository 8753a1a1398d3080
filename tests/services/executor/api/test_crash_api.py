"""A real ``devgen up`` killed with SIGKILL mid-execution: nothing survives, nothing vanishes."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from devgen.services.executor.lease import ORPHANED_REASON
from devgen.services.executor.sandbox import mounts
from devgen.services.executor.sandbox.cgroups import EXEC_PREFIX, parent_name
from devgen.services.executor.settings import ExecutorSettings
from tests.e2e.support import all_in_one, sign_up
from tests.helpers import eventually
from tests.services.executor.conftest import slot_processes

pytestmark = pytest.mark.slow

SLEEPER = {
    "files": {"main.py": "import time\nprint('started', flush=True)\ntime.sleep(60)"},
    "entry": "main.py",
    "limits": {"wall_time_s": 60},
}


def _parent_groups(state_dir: Path) -> list[Path]:
    """The executor's devgen-owned cgroups (one per v1 controller, or one on v2), if made."""
    name = parent_name(state_dir)
    found = []
    for top, dirs, _ in os.walk("/sys/fs/cgroup"):
        if Path(top).name == name:
            found.append(Path(top))
            dirs.clear()
        elif Path(top).name.startswith(EXEC_PREFIX) or top.count("/") > 7:
            dirs.clear()
    return found


def _execution_groups(state_dir: Path) -> list[Path]:
    return [
        entry
        for parent in _parent_groups(state_dir)
        for entry in parent.iterdir()
        if entry.is_dir() and entry.name.startswith(EXEC_PREFIX)
    ]


async def test_sigkill_kills_the_sandbox_and_the_restart_records_it(tmp_path: Path) -> None:
    platform = all_in_one(tmp_path, DEVGEN_EXECUTOR_WORKERS="1")
    base_uid = int(platform.env["DEVGEN_EXECUTOR_UID_BASE"])
    state_dir = ExecutorSettings(executor_state_dir=None).state_dir_for(tmp_path / "data")
    platform.start()
    try:
        async with httpx.AsyncClient(base_url=platform.url, timeout=60) as http:
            user = await sign_up(http)
            created = await user.call("POST", "/api/v1/execute", expect=202, json=SLEEPER)

            await eventually(
                lambda: slot_processes(base_uid, 1), timeout=60, what="the sandbox to start"
            )
            assert mounts.mounts_under(state_dir)
            left_behind = _execution_groups(state_dir)
            assert left_behind, "the running execution has no cgroup"
            platform.kill()

            # --die-with-parent: the whole tree goes with the executor.
            await eventually(
                lambda: slot_processes(base_uid, 1),
                until=lambda pids: pids == [],
                what="the sandbox to die with its executor",
            )

            platform.start()
            execution = await user.call("GET", f"/api/v1/executions/{created['id']}")
            assert execution["verdict"] == "killed"
            assert execution["reason"] == ORPHANED_REASON
            # What the dead one left mounted is gone: unmounted by the restart (or,
            # on a busy machine, by any executor starting meanwhile: its owner died).
            assert mounts.mounts_under(state_dir) == []
            again = await user.call(
                "POST",
                "/api/v1/execute",
                json={"files": {"main.py": "print('after')"}, "entry": "main.py", "wait": True},
            )
            assert again["result"]["stdout"] == "after\n"
            # The killed execution's groups were removed when the sandbox started again.
            assert [group for group in left_behind if group.exists()] == []
            assert _execution_groups(state_dir) == []
    finally:
        platform.stop()
    assert mounts.mounts_under(state_dir) == []
    assert not state_dir.exists()
    assert _parent_groups(state_dir) == []
