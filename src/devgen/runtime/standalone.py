"""One service alone in its process: it reaches the others over HTTP by their URL settings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from devgen.kit.app import create_app
from devgen.kit.settings import Settings
from devgen.runtime.datadir import ensure_service_secret, secure_data_dir
from devgen.runtime.registry import load_definition


def build_service(name: str, settings: Settings) -> FastAPI:
    """The app of service ``name`` (``gateway`` included), migrating its schema at start-up.

    Nothing here is specific to running alone: with no in-process transports,
    the chassis' clients (and the gateway's proxy) go to ``DEVGEN_<SERVICE>_URL``.
    A service alone needs the secret its peers share: ``ValueError`` without one.
    """
    settings.auth.require_service_secret()
    if settings.core.data_dir.exists() or "{data_dir}" in settings.database.database_url:
        secure_data_dir(settings.core.data_dir)
    return create_app(load_definition(name), settings, migrate_on_startup=True)


@asynccontextmanager
async def started(name: str, settings: Settings) -> AsyncIterator[FastAPI]:
    """Service ``name``'s app with its lifespan running, for administration in process.

    The CLI uses this to act on a service's data with the service's own
    collaborators (identity's password hasher and key ring, for instance),
    exactly as a request would, without serving HTTP.
    """
    # Administration acts on the data dir's platform: its secret does, if none is set.
    app = build_service(name, ensure_service_secret(settings))
    async with app.router.lifespan_context(app):
        yield app
