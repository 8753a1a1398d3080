"""Environment build steps run on any event loop `devgen up` may use."""

from __future__ import annotations

import asyncio
import os
import stat

import pytest
import uvloop

from devgen.services.executor.builder import _Log, _run


@pytest.mark.parametrize("loop_factory", [asyncio.new_event_loop, uvloop.new_event_loop])
def test_a_build_step_writes_files_every_sandbox_uid_can_read(tmp_path, loop_factory):
    # uvloop (what uvicorn runs `devgen up` on) refuses subprocess_exec(umask=...):
    # every environment build then failed with "unexpected kwargs: umask".
    target = tmp_path / "written"
    log = _Log()
    previous = os.umask(0o077)
    try:
        with asyncio.Runner(loop_factory=loop_factory) as runner:
            failure = runner.run(_run(["/bin/sh", "-c", f"echo hi > {target}"], log, 30))
    finally:
        os.umask(previous)
    assert failure is None, log.text
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
