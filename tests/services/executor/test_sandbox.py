"""The Sandbox API: modes, checks, cancellation, streaming, mounts, results."""

from __future__ import annotations

import asyncio
import shutil
import sys
from pathlib import Path, PurePosixPath

import pytest
import structlog

from devgen.services.executor.sandbox import (
    EnvMount,
    FileStatus,
    Limits,
    OutputChunk,
    Sandbox,
    SandboxConfig,
    SandboxRequest,
    SandboxUnavailableError,
    UnsafeModeRefusedError,
    Verdict,
)
from devgen.services.executor.sandbox import sandbox as sandbox_module
from tests.helpers import eventually
from tests.services.executor.conftest import host_cgroups, slot_processes


def test_unsafe_mode_is_refused_in_production(state_dir: Path) -> None:
    with pytest.raises(UnsafeModeRefusedError):
        Sandbox(
            environment="production",
            config=SandboxConfig(mode="unsafe-none", state_dir=state_dir),
        )


async def test_unsafe_mode_runs_and_warns_every_time(
    state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A fresh logger: the module's may be cached from an earlier test's configuration
    # (cache_logger_on_first_use), which capture_logs cannot see into.
    monkeypatch.setattr(sandbox_module, "log", structlog.get_logger(sandbox_module.__name__))
    box = Sandbox(
        environment="development", config=SandboxConfig(mode="unsafe-none", state_dir=state_dir)
    )
    request = SandboxRequest(
        command=["python3", "main.py"],
        files={"main.py": b"open('r.txt','w').write('ok'); print('hi')"},
        collect=["r.txt"],
    )
    with structlog.testing.capture_logs() as logs:
        first = await box.run(request)
        second = await box.run(request)
    assert first.verdict is Verdict.SUCCEEDED, first
    assert second.stdout == b"hi\n"
    assert first.files["r.txt"].content == b"ok"
    assert first.isolation.mode == "unsafe-none"
    warnings = [e for e in logs if e["event"] == "sandbox.unsafe_execution"]
    assert len(warnings) == 2
    assert all(e["log_level"] == "warning" for e in warnings)


async def test_check_explains_a_missing_bwrap(
    state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_which = shutil.which
    monkeypatch.setattr(
        "devgen.services.executor.sandbox.probe.shutil.which",
        lambda name: None if name == "bwrap" else real_which(name),
    )
    box = Sandbox(environment="test", config=SandboxConfig(state_dir=state_dir))
    with pytest.raises(SandboxUnavailableError, match="apt-get install -y bubblewrap"):
        await box.check()


async def test_state_dir_must_be_traversable(tmp_path: Path) -> None:
    hidden = tmp_path / "private"
    hidden.mkdir(mode=0o700)
    box = Sandbox(environment="test", config=SandboxConfig(state_dir=hidden / "state"))
    with pytest.raises(SandboxUnavailableError, match="not searchable"):
        await box.start()


async def test_result_reports_limits_and_mechanisms(sandbox: Sandbox) -> None:
    limits = Limits(wall_time_s=5)
    result = await sandbox.run(
        SandboxRequest(command=["python3", "-c", "print('x')"], limits=limits)
    )
    assert result.verdict is Verdict.SUCCEEDED
    assert result.exit_code == 0
    assert result.signal is None
    assert result.limits == limits
    assert result.isolation.mode == "bwrap"
    kind = host_cgroups()
    assert (result.isolation.resources, result.isolation.memory) == (kind, kind)
    assert (result.isolation.processes, result.isolation.cpu) == (kind, kind)
    assert result.isolation.seccomp is True
    assert "net" in result.isolation.namespaces
    assert result.isolation.host_uid == sandbox.config.base_uid + (result.isolation.slot or 0)
    assert result.cpu_time_s > 0
    assert result.peak_memory_bytes is not None
    assert 0 < result.peak_memory_bytes <= limits.memory_bytes


@pytest.mark.parametrize("cgroups", ["off"])
async def test_without_cgroups_rlimits_bound_each_process(sandbox: Sandbox) -> None:
    result = await sandbox.run(SandboxRequest(command=["python3", "-c", "print('x')"]))
    assert result.verdict is Verdict.SUCCEEDED
    isolation = result.isolation
    assert (isolation.resources, isolation.memory) == ("rlimit", "rlimit-as")
    assert (isolation.processes, isolation.cpu) == ("rlimit-nproc", "none")
    assert result.peak_memory_bytes is None  # known only with a memory cgroup


async def test_exit_code_and_stdin(sandbox: Sandbox) -> None:
    code = "import sys; data = sys.stdin.read(); print(data.upper()); sys.exit(3)"
    result = await sandbox.run(SandboxRequest(command=["python3", "-c", code], stdin=b"hello"))
    assert result.verdict is Verdict.FAILED
    assert result.exit_code == 3
    assert result.stdout == b"HELLO\n"


async def test_missing_command_is_a_failure_not_an_internal_error(sandbox: Sandbox) -> None:
    result = await sandbox.run(SandboxRequest(command=["no-such-program"]))
    assert result.verdict is Verdict.FAILED
    assert b"no-such-program" in result.stderr


async def test_output_is_streamed_live(sandbox: Sandbox) -> None:
    chunks: list[OutputChunk] = []
    code = "import sys, time\nprint('one', flush=True)\ntime.sleep(0.2)\nprint('two', flush=True)"
    result = await sandbox.run(
        SandboxRequest(command=["python3", "-c", code], on_output=chunks.append)
    )
    assert result.verdict is Verdict.SUCCEEDED
    assert [c.data for c in chunks if c.stream == "stdout"] == [b"one\n", b"two\n"]


def _sleeper() -> tuple[SandboxRequest, list[bytes]]:
    """A request that says ``started`` and then sleeps, and the stdout it streamed."""
    output: list[bytes] = []

    def collect(chunk: OutputChunk) -> None:
        if chunk.stream == "stdout":
            output.append(chunk.data)

    code = "import time\nprint('started', flush=True)\ntime.sleep(30)"
    return SandboxRequest(command=["python3", "-c", code], on_output=collect), output


async def test_stop_event_kills_with_verdict_killed(sandbox: Sandbox) -> None:
    stop = asyncio.Event()
    request, output = _sleeper()
    task = asyncio.ensure_future(sandbox.run(request, stop=stop))
    await eventually(lambda: b"started\n" in b"".join(output), what="the program to start")
    stop.set()
    result = await task  # a stop that did nothing would end at the wall limit instead
    assert result.verdict is Verdict.KILLED
    assert slot_processes(sandbox.config.base_uid, sandbox.config.slots) == []


async def test_cancelling_the_task_kills_the_tree(sandbox: Sandbox) -> None:
    request, output = _sleeper()
    task = asyncio.ensure_future(sandbox.run(request))
    await eventually(lambda: b"started\n" in b"".join(output), what="the program to start")
    assert slot_processes(sandbox.config.base_uid, sandbox.config.slots) != []
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert slot_processes(sandbox.config.base_uid, sandbox.config.slots) == []
    assert list((sandbox.config.state_dir / "runs").iterdir()) == []


async def test_virtualenv_mount_is_read_only_and_usable(sandbox: Sandbox) -> None:
    venv = Path(sys.prefix)  # the test run's own virtualenv, with pydantic in it
    # Seen at its own path, like the executor's environments; a checkout under
    # /tmp (the sandbox's own tmpfs there) is seen elsewhere instead.
    target = PurePosixPath("/opt/test-venv") if venv.is_relative_to("/tmp") else None
    inside = target or PurePosixPath(venv)
    code = (
        "import pydantic, sys\n"
        "print(sys.prefix)\n"
        "try:\n"
        "    open(sys.prefix + '/evil', 'w')\n"
        "except OSError as exc:\n"
        "    print(exc.errno)\n"
    )
    result = await sandbox.run(
        SandboxRequest(command=["python", "-c", code], env_mounts=[EnvMount(venv, target)])
    )
    assert result.verdict is Verdict.SUCCEEDED, result
    assert result.stdout_text.splitlines() == [str(inside), "30"]  # EROFS


async def test_collect_reads_result_files(sandbox: Sandbox) -> None:
    code = "import os\nos.makedirs('out')\nopen('out/junit.xml','w').write('<testsuite/>')"
    result = await sandbox.run(
        SandboxRequest(
            command=["python3", "-c", code], collect=["out/junit.xml", "out/coverage.xml"]
        )
    )
    assert result.files["out/junit.xml"].content == b"<testsuite/>"
    assert result.files["out/coverage.xml"].status is FileStatus.MISSING


async def test_unsafe_mode_missing_command_fails_like_a_shell(state_dir: Path) -> None:
    box = Sandbox(
        environment="development", config=SandboxConfig(mode="unsafe-none", state_dir=state_dir)
    )
    result = await box.run(SandboxRequest(command=["no-such-program"]))
    assert result.verdict is Verdict.FAILED
    assert result.exit_code == 127
