"""If the process running the sandbox is SIGKILLed, the sandboxed tree dies with it."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import textwrap
from pathlib import Path

import pytest

from devgen.services.executor.sandbox import Sandbox, SandboxConfig
from tests.helpers import eventually
from tests.services.executor.conftest import BASE_UID, SLOTS, slot_processes

# Just past this test process's own range: the test finds the helper's
# processes by uid.
HELPER_BASE_UID = BASE_UID + SLOTS

HELPER = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    from devgen.services.executor.sandbox import Limits, Sandbox, SandboxConfig, SandboxRequest

    async def main():
        config = SandboxConfig(state_dir=Path(sys.argv[1]), slots=1, base_uid={uid})
        async with Sandbox(environment="test", config=config) as box:
            code = "import os, time\\nif os.fork() == 0:\\n    time.sleep(60)\\ntime.sleep(60)\\n"
            await box.run(SandboxRequest(command=["python3", "-c", code],
                                         limits=Limits(wall_time_s=60)))

    asyncio.run(main())
    """
).format(uid=HELPER_BASE_UID)


@pytest.mark.slow
async def test_sandbox_dies_with_its_parent(state_dir: Path) -> None:
    helper = await asyncio.create_subprocess_exec(
        sys.executable, "-c", HELPER, str(state_dir), stdout=asyncio.subprocess.DEVNULL
    )
    try:
        await eventually(
            lambda: slot_processes(HELPER_BASE_UID, 1),
            until=lambda pids: len(pids) >= 3,
            timeout=60,  # a fresh interpreter imports devgen and sets up a sandbox first
            what="the sandboxed program and its child to start",
        )
    finally:
        os.kill(helper.pid, signal.SIGKILL)
        await helper.wait()
    await eventually(
        lambda: slot_processes(HELPER_BASE_UID, 1),
        until=lambda pids: pids == [],
        what="the sandboxed tree to die with its parent",
    )
    # The dead helper left its tmpfs mounted; the next sandbox on this state
    # directory cleans it up when it starts.
    assert list((state_dir / "runs").iterdir()) != []
    box = Sandbox(environment="test", config=SandboxConfig(state_dir=state_dir, slots=1))
    await box.start()
    try:
        assert list((state_dir / "runs").iterdir()) == []
    finally:
        await box.close()
