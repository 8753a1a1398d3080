"""Run ``devgen`` commands in process, each test with its own data and config directories."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import httpx
import pytest
from click.testing import Result
from typer.testing import CliRunner

from devgen.cli.main import app
from devgen.kit.settings import Settings
from devgen.runtime.allinone import build_platform

T = TypeVar("T")


@dataclass(frozen=True)
class Workspace:
    """Where one test's platform keeps its data and the CLI its credentials."""

    root: Path
    data_dir: Path
    config_dir: Path

    def settings(self) -> Settings:
        """The settings the CLI reads in this workspace (from the environment)."""
        return Settings()


Devgen = Callable[..., Result]


def on_platform(settings: Settings, work: Callable[[httpx.AsyncClient], Awaitable[T]]) -> T:
    """Start the all-in-one app on ``settings`` in process, run ``work`` with a client, stop.

    Synchronous, because the CLI under test runs its own event loop.
    """

    async def main() -> T:
        app = build_platform(settings)
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
        ):
            return await work(client)

    return asyncio.run(main())


def assert_clean_failure(result: Result, code: int, *fragments: str) -> None:
    """A failure the user can read: status ``code``, ``error:`` and no traceback."""
    assert result.exit_code == code, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    assert result.stderr.startswith("error: "), result.output
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    """An environment like a fresh machine's: no DEVGEN_* of the developer, no .env."""
    for key in list(os.environ):
        if key.startswith("DEVGEN_"):
            monkeypatch.delenv(key)
    data_dir = tmp_path / "data"
    config_dir = tmp_path / "config"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DEVGEN_ENV", "test")
    monkeypatch.setenv("DEVGEN_DATA_DIR", str(data_dir))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config_dir))
    monkeypatch.setenv("COLUMNS", "200")  # Rich tables would shorten paths to fit 80
    return Workspace(tmp_path, data_dir, config_dir)


@pytest.fixture
def devgen(workspace: Workspace) -> Devgen:
    """``devgen(*args, input=...)``: run one command in process and return its result."""
    runner = CliRunner()

    def _devgen(*args: str, input: str | None = None) -> Result:
        return runner.invoke(app, list(args), input=input, prog_name="devgen")

    return _devgen
