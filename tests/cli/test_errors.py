"""The ``devgen`` command as a process: failures are one line on stderr and a non-zero status."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.runtime.processes import free_port, isolated_env


def _devgen(tmp_path: Path, *args: str, **settings: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "devgen.cli", *args],
        env=isolated_env(tmp_path / "data", **settings),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _assert_clean(result: subprocess.CompletedProcess[str], code: int, fragment: str) -> None:
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert f"error: {fragment}" in result.stderr, result.stderr


def test_serving_an_unknown_service_is_a_usage_error(tmp_path):
    _assert_clean(_devgen(tmp_path, "serve", "nosuch"), 2, "unknown service 'nosuch'")


def test_all_in_one_needs_a_database_per_service(tmp_path):
    result = _devgen(tmp_path, "up", DEVGEN_DATABASE_URL="sqlite+aiosqlite:///shared.db")

    _assert_clean(result, 2, "all-in-one gives every service its own database")


@pytest.mark.parametrize(
    ("setting", "value", "fragment"),
    [
        ("DEVGEN_RATE_LIMIT_AUTH", "often", "DEVGEN_RATE_LIMIT_AUTH='often' is not a rate"),
        ("DEVGEN_TRUSTED_PROXIES", "not-an-ip", "DEVGEN_TRUSTED_PROXIES: 'not-an-ip'"),
    ],
)
def test_a_malformed_gateway_setting_stops_start_up_with_its_name(
    tmp_path, setting, value, fragment
):
    result = _devgen(tmp_path, "up", "--port", str(free_port()), **{setting: value})

    _assert_clean(result, 1, f"devgen could not start: {fragment}")


def test_a_busy_port_is_reported_cleanly(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = _devgen(tmp_path, "serve", "identity", "--port", str(port))

    _assert_clean(
        result, 1, f"devgen identity could not start: could not listen on 127.0.0.1:{port}"
    )


def test_a_service_alone_refuses_to_start_without_the_shared_secret(tmp_path):
    result = _devgen(tmp_path, "serve", "identity", DEVGEN_SERVICE_SECRET="")

    _assert_clean(result, 2, "DEVGEN_SERVICE_SECRET is not set")


def test_a_short_service_secret_is_refused(tmp_path):
    result = _devgen(tmp_path, "serve", "identity", DEVGEN_SERVICE_SECRET="change-me-now")

    _assert_clean(result, 2, "the settings are not valid")
    assert "DEVGEN_SERVICE_SECRET must be at least 32 bytes" in result.stderr
    assert "change-me-now" not in result.stderr + result.stdout  # a secret is never echoed
