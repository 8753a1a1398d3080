"""Fixtures every test can use: settings, a migrated database, the platform, a client."""

from __future__ import annotations

import fcntl
import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from devgen.kit.settings import (
    AuthSettings,
    CoreSettings,
    DatabaseSettings,
    RateLimitSettings,
    Settings,
)
from devgen.runtime.allinone import build_platform
from tests import databases
from tests.helpers import TEST_SERVICE_SECRET

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.fixture(scope="session")
def sqlite_templates(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every service's schema, migrated once into SQLite files."""
    return databases.build_sqlite_templates(tmp_path_factory.mktemp("templates"))


@pytest.fixture(scope="session")
def postgres_templates() -> Iterator[str]:
    """Every service's schema, migrated once into PostgreSQL template databases.

    Unreachable PostgreSQL fails the run in CI and skips (with the reason) elsewhere.
    """
    reason = databases.postgres_unreachable_reason()
    if reason:
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    prefix = databases.build_postgres_templates()
    yield prefix
    databases.drop_postgres_templates(prefix)


@pytest.fixture(params=["sqlite"])
def backend(request: pytest.FixtureRequest) -> str:
    """Which database the test runs on; identity and profile tests add PostgreSQL."""
    return str(request.param)


@pytest.fixture
def platform_services() -> tuple[str, ...] | None:
    """Services the test platform starts (None: all). Test packages narrow it."""
    return None


@pytest.fixture
async def database_url(
    backend: str,
    platform_services: tuple[str, ...] | None,
    request: pytest.FixtureRequest,
    tmp_path: Path,
) -> AsyncIterator[str]:
    """A URL template whose databases are freshly migrated for this test only."""
    if backend == "sqlite":
        templates = request.getfixturevalue("sqlite_templates")
        yield databases.copy_sqlite_templates(templates, tmp_path / "db")
        return
    prefix = request.getfixturevalue("postgres_templates")
    wanted = None
    if platform_services is not None:
        migrated = databases.migrated_services()
        wanted = [name for name in platform_services if name in migrated]
    url = await databases.clone_postgres(prefix, wanted)
    yield url
    await databases.drop_postgres(url, wanted)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Settings of a test platform: its own data directory and databases."""
    return Settings(
        core=CoreSettings(env="test", data_dir=tmp_path / "data"),
        database=DatabaseSettings(database_url=database_url, database_pool_size=5),
        auth=AuthSettings(
            jwks_min_refetch_seconds=0, service_secret=SecretStr(TEST_SERVICE_SECRET)
        ),
        rate_limit=RateLimitSettings(rate_limit_enabled=False),
    )


@pytest.fixture
async def platform(
    settings: Settings, platform_services: tuple[str, ...] | None
) -> AsyncIterator[FastAPI]:
    """The all-in-one app, started (lifespans run) on the test's databases."""
    app = build_platform(settings, services=platform_services, migrate_on_startup=False)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def client(platform: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the platform in process."""
    transport = httpx.ASGITransport(app=platform, client=("203.0.113.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture(scope="session", autouse=True)
def _json_logs() -> None:
    """Logs as the platform writes them (JSON), shown by pytest only for failures."""
    from devgen.kit.logging import configure_logging

    configure_logging("INFO", "json")


_BROKER_LOCK = Path(tempfile.gettempdir()) / "devgen-tests-rabbitmq.lock"


@pytest.fixture(autouse=True)
def _broker_turns(request: pytest.FixtureRequest) -> Iterator[None]:
    """Tests on the one RabbitMQ share it; a test that restarts it has it alone.

    The test workers (pytest-xdist) are processes, so the turns are a file
    lock: shared for ``rabbitmq`` tests, exclusive for ``disrupts_broker``.
    """
    if request.node.get_closest_marker("disrupts_broker"):
        mode = fcntl.LOCK_EX
    elif request.node.get_closest_marker("rabbitmq"):
        mode = fcntl.LOCK_SH
    else:
        yield
        return
    with _BROKER_LOCK.open("a") as lock:
        fcntl.flock(lock, mode)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
