"""Gateways for tests: the all-in-one platform or the gateway alone, with chosen settings."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from starlette.types import ASGIApp

from devgen.kit.app import create_app
from devgen.kit.settings import RateLimitSettings, Settings
from devgen.runtime.allinone import build_platform
from devgen.runtime.registry import load_definition
from devgen.services.gateway.shortcut import mount_in_process

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
REDIS_URL = os.environ.get("DEVGEN_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
CLIENT = ("203.0.113.7", 50000)

Start = Callable[..., Awaitable[httpx.AsyncClient]]


def with_settings(settings: Settings, **groups: Any) -> Settings:
    """``settings`` with whole groups replaced, e.g. ``rate_limit=RateLimitSettings(...)``."""
    return settings.model_copy(update=groups)


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The real Redis; fails the run in CI when it is missing, skips with the reason elsewhere."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        reason = f"Redis at {REDIS_URL} is not reachable: {type(exc).__name__}: {exc}"
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    finally:
        client.close()
    return REDIS_URL


@pytest.fixture
def key_prefix(monkeypatch: pytest.MonkeyPatch) -> str:
    """A rate-limit key prefix of this test's own, so tests sharing Redis never meet."""
    prefix = f"devgen-test-{uuid.uuid4().hex[:12]}"
    monkeypatch.setenv("DEVGEN_RATE_LIMIT_KEY_PREFIX", prefix)
    return prefix


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def rate_limit_store(request: pytest.FixtureRequest, key_prefix: str) -> Iterator[str]:
    """Where counters live: ``""`` for memory, else the Redis URL (cleaned up afterwards)."""
    if request.param == "memory":
        yield ""
        return
    url: str = request.getfixturevalue("redis_url")
    yield url
    import redis

    client = redis.Redis.from_url(url)
    try:
        for key in client.scan_iter(match=f"*{key_prefix}*"):
            client.delete(key)
    finally:
        client.close()


def limits(store: str = "", **rates: str) -> RateLimitSettings:
    """Rate-limit settings with generous defaults and the given overrides."""
    values: dict[str, Any] = {
        "redis_url": store,
        "rate_limit_enabled": True,
        "rate_limit_per_token": "1000/minute",
        "rate_limit_per_address": "1000/minute",
        "rate_limit_auth": "1000/minute",
    }
    return RateLimitSettings(**(values | rates))


Launch = Callable[..., Awaitable[FastAPI]]
Connect = Callable[..., Awaitable[httpx.AsyncClient]]


@pytest.fixture
async def gateway_stack(key_prefix: str) -> AsyncIterator[AsyncExitStack]:
    """Everything a test starts (apps, clients); closed, in reverse, when it ends."""
    async with AsyncExitStack() as stack:
        yield stack


@pytest.fixture
def launch(gateway_stack: AsyncExitStack) -> Launch:
    """Start a gateway app (its lifespan runs until the end of the test).

    ``launch(settings)`` is the all-in-one platform; ``launch(settings, alone=True)``
    is the gateway with no service in process (it proxies to the URL settings);
    ``upstreams={name: app}`` mounts stand-in apps in process instead.
    """

    async def _launch(
        settings: Settings, *, alone: bool = False, upstreams: Mapping[str, ASGIApp] | None = None
    ) -> FastAPI:
        app: FastAPI
        if alone or upstreams is not None:
            app = create_app(load_definition("gateway"), settings)
            if upstreams:
                mount_in_process(app, upstreams)
        else:
            app = build_platform(settings, migrate_on_startup=False)
        await gateway_stack.enter_async_context(app.router.lifespan_context(app))
        return app

    return _launch


@pytest.fixture
def connect(gateway_stack: AsyncExitStack) -> Connect:
    """An in-process HTTP client for a started app, calling from ``client`` (address, port)."""

    async def _connect(app: ASGIApp, client: tuple[str, int] = CLIENT) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=client)
        return await gateway_stack.enter_async_context(
            httpx.AsyncClient(transport=transport, base_url="http://testserver")
        )

    return _connect


@pytest.fixture
def start(launch: Launch, connect: Connect) -> Start:
    """``launch`` a gateway and ``connect`` one client to it (same arguments as ``launch``)."""

    async def _start(
        settings: Settings, *, client: tuple[str, int] = CLIENT, **options: Any
    ) -> httpx.AsyncClient:
        return await connect(await launch(settings, **options), client)

    return _start
