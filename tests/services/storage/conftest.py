"""Storage's tests: the platform with identity and storage, small limits, either blob backend.

Limits are made small (a few MiB) so "too large" costs little to test; the
gateway passes bodies of any size and storage enforces its own limits. ``blob_backend`` is ``local``
unless a test asks for both (``BOTH_BACKENDS``); the S3 backend talks to
moto's server mode, a stand-in for real S3 run in this process.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from devgen.kit.settings import Settings
from devgen.runtime.allinone import build_platform
from tests.services.storage.support import MIB, BlobCounter, S3StandIn

SERVICES = ("identity", "storage")

BOTH_BACKENDS = pytest.mark.parametrize("blob_backend", ["local", "s3"], indirect=True)
"""Run a test on the local file system and on the S3 stand-in."""

LIMITS = {
    "DEVGEN_STORAGE_MAX_FILE_BYTES": str(6 * MIB),
    "DEVGEN_STORAGE_MAX_ARCHIVE_BYTES": str(1 * MIB),
    "DEVGEN_STORAGE_MAX_ARTIFACT_BYTES": str(2 * MIB),
    "DEVGEN_STORAGE_MAX_ARTIFACT_FILES": "50",
    "DEVGEN_STORAGE_MAX_COMPRESSION_RATIO": "100",
    "DEVGEN_STORAGE_MAX_LABELS": "8",
    # Every file's bytes go to the blob store here, so the tests see them there;
    # test_inline_blobs.py turns small files' inline storage back on.
    "DEVGEN_STORAGE_INLINE_MAX_BYTES": "0",
}


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3StandIn]:
    """moto's S3 server on a free loopback port, for the whole run."""
    server = S3StandIn()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def blob_backend(request: pytest.FixtureRequest) -> str:
    """``local`` by default; ``BOTH_BACKENDS`` parametrizes it."""
    return str(getattr(request, "param", "local"))


@pytest.fixture
def storage_env(
    blob_backend: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """The storage settings of this test, as environment variables."""
    env = dict(LIMITS)
    if blob_backend == "s3":
        server: S3StandIn = request.getfixturevalue("s3_server")
        env.update(server.environment(bucket=f"devgen-{uuid.uuid4().hex[:12]}"))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
def platform_services() -> tuple[str, ...]:
    """Identity (for the keys) and storage; on PostgreSQL only their databases are cloned."""
    return SERVICES


@pytest.fixture
async def platform(
    settings: Settings, platform_services: tuple[str, ...], storage_env: dict[str, str]
) -> AsyncIterator[FastAPI]:
    """Gateway, identity and storage, started on this test's databases and blob store."""
    app = build_platform(settings, services=platform_services, migrate_on_startup=False)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
def blobs(
    platform: FastAPI, blob_backend: str, settings: Settings, request: pytest.FixtureRequest
) -> BlobCounter:
    """What the blob store holds, read behind storage's back."""
    if blob_backend == "s3":
        server: S3StandIn = request.getfixturevalue("s3_server")
        return BlobCounter.for_s3(server, platform.state.upstream_apps["storage"])
    return BlobCounter.for_directory(Path(settings.core.data_dir) / "storage" / "blobs")


@pytest.fixture
async def storage_client(platform: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client straight to the storage app (no gateway), for what the gateway would hide."""
    transport = httpx.ASGITransport(app=platform.state.upstream_apps["storage"])
    async with httpx.AsyncClient(transport=transport, base_url="http://storage") as http:
        yield http
