"""The orchestrator's start-up: the run watch and the engine that runs the steps."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from devgen.kit.auth.remote import RemoteIntrospector
from devgen.kit.streams import StreamLimiter
from devgen.services.orchestrator import live
from devgen.services.orchestrator.engine import RunEngine
from devgen.services.orchestrator.engines import DefaultEngine
from devgen.services.orchestrator.live import RunWatch
from devgen.services.orchestrator.settings import OrchestratorSettings
from devgen.services.orchestrator.state import OrchestratorState
from devgen.services.orchestrator.steps.registry import default_executors


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Start the engine (unless turned off); stop it, handing its steps over, at shutdown."""
    settings = OrchestratorSettings()
    database = app.state.database
    watch = RunWatch()
    engine = None
    if settings.orchestrator_engine_enabled:
        engine = RunEngine(
            database=database,
            clients=app.state.clients,
            credentials=app.state.service_credentials,
            settings=settings,
            executors=default_executors(),
        )
        watch.on_change(engine.wake)
    app.state.orchestrator = OrchestratorState(
        settings=settings,
        database=database,
        engine=engine,
        watch=watch,
        streams=StreamLimiter(
            per_user=settings.orchestrator_streams_per_user,
            per_tenant=settings.orchestrator_streams_per_tenant,
        ),
        # Asked at identity, not the local authenticator: only identity knows of revocations.
        introspector=RemoteIntrospector(app.state.clients, app.state.service_credentials),
        default_engine=DefaultEngine(
            settings.orchestrator_default_engine,
            app.state.clients,
            app.state.service_credentials,
            cache_seconds=settings.orchestrator_default_engine_cache_seconds,
        ),
    )
    live.attach(database.engine, watch)
    if engine is not None:
        await engine.start()
    try:
        yield
    finally:
        if engine is not None:
            await engine.stop()
        live.detach(database.engine)
