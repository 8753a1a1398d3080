"""Identity's start-up: key ring, password hasher, local authenticator, caller cache."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from devgen.kit.events.bus import EventBus
from devgen.kit.events.outbox import register_commit_listener, unregister_commit_listener
from devgen.kit.settings import Settings
from devgen.services.identity.auth import local_authenticator
from devgen.services.identity.callers import REVOKING_EVENTS, CallerCache
from devgen.services.identity.keys import KeyRing
from devgen.services.identity.passwords import Passwords
from devgen.services.identity.settings import IdentitySettings
from devgen.services.identity.state import IdentityState
from devgen.services.identity.tokens import TokenIssuer


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Build identity's collaborators and make sure a signing key exists."""
    settings: Settings = app.state.settings
    identity_settings = IdentitySettings()
    database = app.state.database
    keys = KeyRing(
        database, identity_settings.signing_key_reload_seconds, settings.auth.key_encryption_key
    )
    await keys.start()
    authenticator = local_authenticator(keys, database, settings.auth)
    app.state.authenticator = authenticator
    callers = CallerCache(identity_settings.identity_caller_cache_seconds)
    register_commit_listener(database.engine, callers.apply)
    bus: EventBus = app.state.bus
    listening = await bus.listen(
        REVOKING_EVENTS, lambda event: callers.apply((event,)), on_gap=callers.clear
    )
    callers.attach(listening)
    app.state.identity = IdentityState(
        database=database,
        passwords=Passwords(identity_settings),
        keys=keys,
        issuer=TokenIssuer(keys, settings.auth),
        settings=identity_settings,
        auth=settings.auth,
        authenticator=authenticator,
        callers=callers,
    )
    reloads = asyncio.create_task(keys.run_reloads(), name="identity-key-reloads")
    try:
        yield
    finally:
        reloads.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reloads
        unregister_commit_listener(database.engine)
        await listening.close()
