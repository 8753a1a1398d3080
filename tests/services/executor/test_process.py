"""The supervisor's gate fails closed: the program never starts if the host hook fails."""

from __future__ import annotations

import os

from devgen.services.executor.sandbox.process import Gate, StopReason, Supervisor


async def test_failing_gate_hook_never_lets_the_program_run() -> None:
    info_r, info_w = os.pipe2(os.O_CLOEXEC)
    block_r, block_w = os.pipe2(os.O_CLOEXEC)
    argv = [
        "bwrap",
        "--unshare-user",
        "--unshare-pid",
        "--as-pid-1",
        "--ro-bind",
        "/",
        "/",
        "--info-fd",
        str(info_w),
        "--block-fd",
        str(block_r),
        "--",
        "sh",
        "-c",
        "echo ran",
    ]

    def refuse(pid: int) -> None:
        raise OSError(1, "cgroup refused")

    supervisor = Supervisor(
        argv,
        stdin=b"",
        pass_fds=(info_w, block_r),
        gate=Gate(info_read=info_r, block_write=block_w, on_child=refuse),
        wall_time_s=5,
        output_cap=1024,
        on_output=None,
        env={"PATH": "/usr/bin:/bin"},
    )
    outcome = await supervisor.run()
    assert outcome.reason is StopReason.SETUP_FAILED
    assert "cgroup refused" in outcome.detail
    assert outcome.stdout == b""


async def test_plain_command_runs_and_is_reaped() -> None:
    supervisor = Supervisor(
        ["sh", "-c", "echo out; echo err >&2; exit 3"],
        stdin=b"",
        pass_fds=(),
        gate=None,
        wall_time_s=5,
        output_cap=1024,
        on_output=None,
        env={"PATH": "/usr/bin:/bin"},
        kill_group=True,
    )
    outcome = await supervisor.run()
    assert outcome.reason is StopReason.EXITED
    assert outcome.stdout == b"out\n"
    assert outcome.stderr == b"err\n"
    assert outcome.wait_status is not None
    assert os.waitstatus_to_exitcode(outcome.wait_status) == 3
    assert outcome.rusage is not None
