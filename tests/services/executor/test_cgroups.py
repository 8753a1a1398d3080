"""Per-execution cgroups on this machine's real cgroup tree: made, removed, reclaimed.

Each execution's group goes away with it; groups a dead executor left under
its parent (same state dir) are killed and removed when the next one starts;
the parent itself goes at close.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from devgen.services.executor.sandbox import Sandbox, SandboxConfig, Verdict, cgroup_probe
from devgen.services.executor.sandbox.cgroups import parent_name
from tests.services.executor.conftest import (
    BASE_UID,
    SLOTS,
    execution_cgroups,
    host_cgroups,
    remove_state_dir,
    run_python,
)


def _config(state_dir: Path) -> SandboxConfig:
    return SandboxConfig(state_dir=state_dir, slots=SLOTS, base_uid=BASE_UID)


async def test_groups_a_dead_executor_left_are_killed_and_removed_at_start(
    state_dir: Path,
) -> None:
    # What a SIGKILLed executor leaves: its parent, an execution's groups,
    # and (had --die-with-parent failed) a process still inside them.
    left = cgroup_probe.choose(mode="auto", name=parent_name(state_dir))
    assert left.parent is not None, left.notes
    stale = [directory / "exec-left-by-a-dead-executor" for directory in left.parent.directories()]
    survivor = subprocess.Popen(["sleep", "600"])
    try:
        for group in stale:
            group.mkdir()
            (group / "cgroup.procs").write_text(str(survivor.pid))

        box = Sandbox(environment="test", config=_config(state_dir))
        await box.start()
        try:
            assert survivor.wait(timeout=10) == -9
            assert [group.exists() for group in stale] == [False] * len(stale)
            assert box.resources == host_cgroups()
            result = await run_python(box, "print('fresh')")
            assert result.verdict is Verdict.SUCCEEDED, result
            assert execution_cgroups(box) == []
        finally:
            await box.close()
    finally:
        survivor.kill()
        survivor.wait()


async def test_the_parent_group_is_removed_at_close(state_dir: Path) -> None:
    box = Sandbox(environment="test", config=_config(state_dir))
    await box.start()
    parent = box.cgroup_parent
    assert parent is not None
    directories = parent.directories()
    assert all(directory.is_dir() for directory in directories)
    assert all(directory.name == parent_name(state_dir) for directory in directories)

    await box.close()

    assert [directory.exists() for directory in directories] == [False] * len(directories)


async def test_two_sandboxes_with_their_own_state_dirs_do_not_share_a_parent(
    state_dir: Path,
) -> None:
    other_state = Path(str(state_dir) + "-other")
    first = Sandbox(environment="test", config=_config(state_dir))
    second = Sandbox(
        environment="test",
        config=SandboxConfig(state_dir=other_state, slots=SLOTS, base_uid=BASE_UID + SLOTS),
    )
    await first.start()
    await second.start()
    try:
        assert first.cgroup_parent is not None
        assert second.cgroup_parent is not None
        mine, theirs = first.cgroup_parent.directories(), second.cgroup_parent.directories()
        assert set(mine).isdisjoint(theirs)
        # Closing one leaves the other's parent (and its executions) alone.
        await second.close()
        assert all(directory.is_dir() for directory in mine)
        result = await run_python(first, "print('mine')")
        assert result.verdict is Verdict.SUCCEEDED, result
    finally:
        await first.close()
        await second.close()
        if other_state.exists():
            remove_state_dir(other_state)
