"""Start-up: no sandbox, no start (with the fix said); the unsafe mode only outside production."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr

from devgen.kit.app import create_app
from devgen.kit.settings import AuthSettings, CoreSettings, DatabaseSettings, Settings
from devgen.services.executor import service
from devgen.services.executor.sandbox import SandboxUnavailableError, UnsafeModeRefusedError
from tests.helpers import TEST_SERVICE_SECRET
from tests.services.executor.api.conftest import Execute

DEVGEN = Path(sys.executable).with_name("devgen")


def test_without_bubblewrap_the_executor_refuses_to_start(tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    env = {
        "HOME": str(tmp_path),
        "PATH": str(empty),  # neither bwrap nor prlimit can be found
        "DEVGEN_DATA_DIR": str(tmp_path / "data"),
        "DEVGEN_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/{{service}}.db",
        "DEVGEN_EXECUTOR_UID_BASE": os.environ["DEVGEN_EXECUTOR_UID_BASE"],
        "DEVGEN_SERVICE_SECRET": TEST_SERVICE_SECRET,
    }

    done = subprocess.run(
        [str(DEVGEN), "serve", "executor", "--port", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode != 0
    output = done.stdout + done.stderr
    assert "bwrap (bubblewrap) is not installed" in output
    assert "apt-get install -y bubblewrap" in output


async def test_the_unsafe_mode_is_refused_in_production(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DEVGEN_SANDBOX", "unsafe-none")
    settings = Settings(
        core=CoreSettings(env="production", data_dir=tmp_path),
        database=DatabaseSettings(database_url=f"sqlite+aiosqlite:///{tmp_path}/{{service}}.db"),
        auth=AuthSettings(service_secret=SecretStr(TEST_SERVICE_SECRET)),
    )
    app = create_app(service, settings)

    with pytest.raises(UnsafeModeRefusedError, match="refused when DEVGEN_ENV=production"):
        async with app.router.lifespan_context(app):
            pass


async def test_a_required_cgroup_layout_the_host_lacks_refuses_to_start(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # This host has v1 controllers only (its v2 tree offers none of them).
    assert not Path("/sys/fs/cgroup/cgroup.controllers").exists()
    monkeypatch.setenv("DEVGEN_SANDBOX", "bwrap")  # this module's default is the unsafe mode
    monkeypatch.setenv("DEVGEN_EXECUTOR_CGROUPS", "v2")
    monkeypatch.setenv("DEVGEN_EXECUTOR_STATE_DIR", str(tmp_path / "state"))
    settings = Settings(
        core=CoreSettings(env="test", data_dir=tmp_path),
        database=DatabaseSettings(database_url=f"sqlite+aiosqlite:///{tmp_path}/{{service}}.db"),
    )
    app = create_app(service, settings)

    with pytest.raises(SandboxUnavailableError, match="DEVGEN_EXECUTOR_CGROUPS=v2 but"):
        async with app.router.lifespan_context(app):
            pass


@pytest.fixture
def executor_overrides() -> dict[str, str]:
    return {"DEVGEN_SANDBOX": "unsafe-none"}


async def test_the_unsafe_mode_runs_without_isolation_and_says_so(execute: Execute) -> None:
    response = await execute(files={"main.py": "print('bare')"}, entry="main.py", wait=True)

    body = response.json()
    assert body["data"]["result"]["stdout"] == "bare\n"
    assert body["data"]["result"]["isolation"]["mode"] == "unsafe-none"
    assert "WITHOUT isolation" in body["metadata"]["warning"]
