"""``devgen generate``, ``runs`` and ``artifacts`` as a user types them, in real processes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.e2e.support import all_in_one, sandbox_uid_base
from tests.helpers import PASSWORD, unique_email
from tests.runtime.processes import isolated_env

pytestmark = pytest.mark.slow

SMALL = "A notebook app keeps notes. Each note has a title and a body."


def _devgen(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "devgen.cli", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    """A fresh machine's environment: its own data, config and sandbox uids."""
    return isolated_env(
        tmp_path / "data",
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        DEVGEN_EXECUTOR_UID_BASE=sandbox_uid_base(7),
        COLUMNS="200",
    )


def test_generate_without_a_server_writes_the_tested_project(tmp_path, cli_env):
    result = _devgen("generate", SMALL, "--out", "out/notes", env=cli_env, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    for step in ("analyze", "generate", "validate", "test", "package"):
        assert any(step in line and "succeeded" in line for line in lines), result.stdout
    assert any(line.startswith("Tests: ") and "0 failed" in line for line in lines)
    assert "local user local@devgen.example" in result.stderr
    target = tmp_path / "out" / "notes"
    assert (target / "app" / "main.py").is_file()
    report = json.loads((target / "report.json").read_text())
    assert report["tests"]["all_passed"] is True
    assert (target / "REPORT.md").read_text().startswith("# ")

    again = _devgen("runs", "list", env=cli_env, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "succeeded" in again.stdout


def test_generate_fails_with_the_analysts_explanation(tmp_path, cli_env):
    result = _devgen("generate", "Make me something nice!", env=cli_env, cwd=tmp_path)
    assert result.returncode == 1
    assert "analyze" in result.stdout
    assert "failed" in result.stderr
    assert "Traceback" not in result.stderr


def test_generate_drives_a_running_server(tmp_path, cli_env):
    server = all_in_one(tmp_path / "server")
    server.start()
    try:
        email = unique_email("cli")
        httpx.post(
            f"{server.url}/api/v1/auth/register", json={"email": email, "password": PASSWORD}
        ).raise_for_status()
        login = _devgen(
            "login",
            "--server",
            server.url,
            "--email",
            email,
            "--password",
            PASSWORD,
            env=cli_env,
            cwd=tmp_path,
        )
        assert login.returncode == 0, login.stderr
        result = _devgen(
            "generate", SMALL, "--server", server.url, "--out", "notes", env=cli_env, cwd=tmp_path
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert (tmp_path / "notes" / "REPORT.md").is_file()
        run_id = result.stdout.strip().splitlines()[-1].split("run ")[-1].rstrip(").")
        shown = _devgen("runs", "show", run_id, "--server", server.url, env=cli_env, cwd=tmp_path)
        assert shown.returncode == 0, shown.stderr
        artifact = shown.stdout.split("artifact: ")[1].split()[0]
        logs = _devgen("runs", "logs", run_id, "--server", server.url, env=cli_env, cwd=tmp_path)
        assert "orchestrator.run.succeeded" in logs.stdout
        zipped = _devgen(
            "artifacts",
            "download",
            artifact,
            "--server",
            server.url,
            "--zip",
            "a.zip",
            env=cli_env,
            cwd=tmp_path,
        )
        assert zipped.returncode == 0, zipped.stderr
        assert (tmp_path / "a.zip").stat().st_size > 1000
        cancel = _devgen(
            "runs", "cancel", run_id, "--server", server.url, env=cli_env, cwd=tmp_path
        )
        assert cancel.returncode == 1
        assert "already succeeded" in cancel.stderr
    finally:
        server.stop()
