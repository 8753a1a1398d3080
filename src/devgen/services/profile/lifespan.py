"""Profile's start-up: read its settings and bound the image workers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from anyio import CapacityLimiter
from fastapi import FastAPI

from devgen.services.profile.images import AvatarLimits
from devgen.services.profile.settings import ProfileSettings
from devgen.services.profile.state import ProfileState


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Build profile's state; nothing needs closing."""
    settings = ProfileSettings()
    app.state.profile = ProfileState(
        settings=settings,
        avatar_limits=AvatarLimits(
            max_bytes=settings.avatar_max_bytes,
            max_pixels=settings.avatar_max_pixels,
            max_side=settings.avatar_max_side,
        ),
        # Each decode may hold up to max_pixels x 4 bytes; a few at a time keeps
        # memory bounded however many uploads arrive together.
        image_workers=CapacityLimiter(settings.avatar_workers),
    )
    yield
