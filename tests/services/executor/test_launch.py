"""bwrap's start gate: rlimits lowered on the waiting process, then its options handed over."""

from __future__ import annotations

import os
import resource
import shutil
import subprocess

import pytest

from devgen.services.executor.sandbox import creds
from devgen.services.executor.sandbox.launch import OptionsGate
from tests.services.executor.conftest import BASE_UID, SLOTS


def _limit(pid: int, name: str) -> str:
    with open(f"/proc/{pid}/limits") as limits:
        line = next(line for line in limits if line.startswith(name))
    return " ".join(line[len(name) :].split()[:2])


def test_release_lowers_the_limits_then_writes_the_options() -> None:
    gate = OptionsGate({resource.RLIMIT_NOFILE: (64, 64), resource.RLIMIT_CORE: (0, 0)})
    gate.load(b"--unshare-net\0--as-pid-1\0")
    # Stands in for bwrap: waits on its options, then exits.
    child = subprocess.Popen(["cat"], stdin=gate.child_fd, stdout=subprocess.PIPE)
    os.close(gate.child_fd)
    try:
        gate.release(child.pid)
        out, _ = child.communicate(timeout=10)
    finally:
        child.kill()
        child.wait()

    assert out == b"--unshare-net\0--as-pid-1\0"


def test_limits_are_in_place_before_the_options_arrive() -> None:
    gate = OptionsGate({resource.RLIMIT_NOFILE: (64, 64)})
    gate.load(b"x\0")
    child = subprocess.Popen(["sleep", "30"])
    try:
        gate.release(child.pid)
        assert _limit(child.pid, "Max open files") == "64 64"
    finally:
        child.kill()
        child.wait()
        os.close(gate.child_fd)


def test_options_larger_than_a_default_pipe_still_fit() -> None:
    gate = OptionsGate({})
    gate.load(b"a" * 200_000)
    os.close(gate.child_fd)
    gate.close()
    gate.close()  # twice is fine


def test_a_failed_release_still_closes_the_pipe() -> None:
    gate = OptionsGate({resource.RLIMIT_NOFILE: (64, 64)})
    gate.load(b"x\0")

    with pytest.raises(ProcessLookupError):
        gate.release(2**22 + 12345)  # no such process

    assert os.read(gate.child_fd, 10) == b""  # bwrap would see the end, with no options
    os.close(gate.child_fd)


def test_without_its_options_bwrap_cannot_run_the_command() -> None:
    # The host died before writing the options: bwrap gets EOF and runs the
    # command in an empty root, where nothing exists to be exec'd.
    gate = OptionsGate({})
    gate.close()
    uid = BASE_UID + SLOTS + 1  # inside this test process's range, unused by the pool
    with creds.thread_identity(uid, uid):
        bwrap = subprocess.Popen(
            [shutil.which("bwrap") or "bwrap", "--args", str(gate.child_fd), "--", "/usr/bin/true"],
            pass_fds=[gate.child_fd],
            stderr=subprocess.PIPE,
            env={},
        )
    os.close(gate.child_fd)
    _, err = bwrap.communicate(timeout=30)

    assert bwrap.returncode != 0
    assert b"execvp /usr/bin/true: No such file or directory" in err
