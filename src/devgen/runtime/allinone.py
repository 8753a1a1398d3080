"""All-in-one: every service in one process, behind the gateway.

Each service is its own FastAPI app with its own database; they call one
another through in-process ASGI transports and the gateway dispatches to
them directly, so the code is the same as when they run apart.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager

import httpx
from fastapi import FastAPI

from devgen.kit.app import create_app
from devgen.kit.settings import Settings
from devgen.runtime.datadir import ensure_service_secret, secure_data_dir
from devgen.runtime.registry import available_services, load_definition
from devgen.services.gateway.shortcut import mount_in_process


def build_platform(
    settings: Settings,
    *,
    services: Sequence[str] | None = None,
    migrate_on_startup: bool = True,
) -> FastAPI:
    """The gateway app with every service mounted in-process behind it.

    Without ``DEVGEN_SERVICE_SECRET`` the services share one generated in the
    data directory on the first start.
    """
    if not settings.database.is_per_service:
        raise ValueError(
            "all-in-one gives every service its own database: "
            "put {service} in DEVGEN_DATABASE_URL (e.g. postgresql+asyncpg://host/devgen_{service})"
        )
    secure_data_dir(settings.core.data_dir)
    # The services meet in this process only: their shared secret is the data dir's own.
    settings = ensure_service_secret(settings)
    names = tuple(services) if services is not None else available_services()
    apps: dict[str, FastAPI] = {}
    # Filled once every app exists; the apps' clients read it when their lifespan starts.
    transports: dict[str, httpx.AsyncBaseTransport] = {}
    for name in names:
        apps[name] = create_app(
            load_definition(name),
            settings,
            transports=transports,
            migrate_on_startup=migrate_on_startup,
        )
    for name, app in apps.items():
        transports[name] = httpx.ASGITransport(
            app=app, raise_app_exceptions=False, client=("127.0.0.1", 0)
        )
    gateway = create_app(load_definition("gateway"), settings, transports=transports)
    mount_in_process(gateway, apps)
    inner_lifespan = gateway.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            for service_app in apps.values():
                await stack.enter_async_context(service_app.router.lifespan_context(service_app))
            await stack.enter_async_context(inner_lifespan(app))
            yield

    gateway.router.lifespan_context = lifespan
    return gateway
