"""``create_app``: turn a ``ServiceDefinition`` into a FastAPI app with the chassis around it."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager

import httpx
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from devgen.kit.auth.remote import remote_authenticator
from devgen.kit.auth.service import ServiceCredentials
from devgen.kit.client import ServiceClients
from devgen.kit.db import Database
from devgen.kit.errors import error_responses
from devgen.kit.events.runtime import prepare_events, running_events
from devgen.kit.exception_handlers import install_exception_handlers
from devgen.kit.health import router as health_router
from devgen.kit.metrics import breaker_transitions
from devgen.kit.middleware import BodySizeLimitMiddleware, RequestContextMiddleware
from devgen.kit.migrations import upgrade
from devgen.kit.service import ServiceDefinition
from devgen.kit.settings import Environment, Settings, get_settings
from devgen.kit.telemetry import instrument_app
from devgen.kit.tls import client_context


def create_app(
    definition: ServiceDefinition,
    settings: Settings | None = None,
    *,
    transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
    migrate_on_startup: bool = False,
) -> FastAPI:
    """A FastAPI app for ``definition`` with health, metrics, errors, auth and clients.

    ``transports`` maps other services to in-process transports (all-in-one);
    services missing from it are reached at their configured URL. Nothing is
    connected until the app's lifespan starts.
    """
    settings = settings or get_settings()
    events = prepare_events(definition, settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        database = None
        if definition.metadata is not None:
            database = Database(
                settings.database.url_for(definition.name, settings.core.data_dir),
                pool_size=settings.database.database_pool_size,
                echo=settings.database.database_echo,
                # A nested transaction is a bug a test must catch, not a stall to log.
                strict=settings.core.env is Environment.test,
            )
            if migrate_on_startup and definition.migrations is not None:
                await upgrade(database, definition.migrations)
        clients = ServiceClients(
            settings.urls, settings.client, transports, tls=client_context(settings.tls)
        )
        app.state.database = database
        app.state.clients = clients
        credentials = ServiceCredentials(definition.name, clients, settings.auth.service_secret)
        app.state.service_credentials = credentials
        app.state.authenticator = remote_authenticator(clients, settings.auth, credentials)
        if events is not None:
            # Known before the service's own start-up, which may listen on it.
            app.state.bus = events.bus
        try:
            async with AsyncExitStack() as stack:
                if definition.lifespan is not None:
                    await stack.enter_async_context(definition.lifespan(app))
                if events is not None and database is not None:
                    await stack.enter_async_context(running_events(app, events, database))
                yield
        finally:
            await clients.aclose()
            if database is not None:
                await database.dispose()

    app = FastAPI(
        title=definition.title,
        description=definition.description,
        version=definition.version,
        lifespan=lifespan,
        docs_url="/docs",
        openapi_url="/openapi.json",
    )
    breaker_transitions()  # exported from the start: zero is an answer too
    app.state.service = definition
    app.state.settings = settings
    app.state.started_at = time.monotonic()
    app.state.health_checks = {}
    app.state.reported_only = frozenset()
    app.state.database = None
    app.include_router(health_router)
    for router in definition.routers:
        app.include_router(router, responses=error_responses(400, 413, 422, 429, 500, 503))
    install_exception_handlers(app)
    max_body_bytes = (
        definition.max_body_bytes(settings)
        if definition.max_body_bytes is not None
        else settings.http.max_body_bytes
    )
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=max_body_bytes)
    if settings.http.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.http.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=["X-Request-ID", "Retry-After"],
        )
    app.add_middleware(RequestContextMiddleware, service=definition.name)
    instrument_app(app, definition.name)
    return app
