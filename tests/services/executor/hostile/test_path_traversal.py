"""Escaping paths in the files map or the collect list are refused before anything runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from devgen.services.executor.sandbox import (
    InvalidRequestError,
    LimitExceededError,
    Limits,
    Sandbox,
    SandboxRequest,
)

BAD_PATHS = [
    "../escape.py",
    "a/../../escape.py",
    "/etc/passwd",
    "/workspace/abs.py",
    "a//b.py",
    "./main.py",
    "a/./b.py",
    "",
    "nul\x00byte.py",
    "x" * 300,
]


@pytest.mark.parametrize("path", BAD_PATHS)
async def test_bad_file_path_is_refused(sandbox: Sandbox, path: str) -> None:
    request = SandboxRequest(command=["true"], files={path: b"x"})
    with pytest.raises(InvalidRequestError):
        await sandbox.run(request)
    assert list((sandbox.config.state_dir / "runs").iterdir()) == []


@pytest.mark.parametrize("path", BAD_PATHS)
async def test_bad_collect_path_is_refused(sandbox: Sandbox, path: str) -> None:
    with pytest.raises(InvalidRequestError):
        await sandbox.run(SandboxRequest(command=["true"], collect=[path]))


async def test_nothing_runs_for_a_refused_request(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    import subprocess

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("a process was started for a refused request")

    monkeypatch.setattr(subprocess, "Popen", forbidden)
    with pytest.raises(InvalidRequestError, match="path traversal"):
        await sandbox.run(SandboxRequest(command=["true"], files={"../x": b""}))


async def test_limits_above_the_server_maxima_are_refused(sandbox: Sandbox) -> None:
    with pytest.raises(LimitExceededError, match="wall_time_s=61"):
        await sandbox.run(SandboxRequest(command=["true"], limits=Limits(wall_time_s=61)))


async def test_mounting_protected_directories_is_refused(sandbox: Sandbox, data_dir: Path) -> None:
    from devgen.services.executor.sandbox import EnvMount

    for source in [Path("/"), Path("/root"), Path("/etc"), Path("/home"), data_dir]:
        with pytest.raises(InvalidRequestError):
            await sandbox.run(SandboxRequest(command=["true"], env_mounts=[EnvMount(source)]))
    with pytest.raises(InvalidRequestError):
        await sandbox.run(SandboxRequest(command=["true"], env_mounts=[EnvMount(data_dir / "x")]))
