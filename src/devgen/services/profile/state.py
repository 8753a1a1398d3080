"""The collaborators profile's endpoints need, built once in the app's lifespan."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from anyio import CapacityLimiter
from fastapi import Depends, Request

from devgen.services.profile.images import AvatarLimits
from devgen.services.profile.settings import ProfileSettings


@dataclass(frozen=True)
class ProfileState:
    """Settings, avatar limits and the limiter that bounds concurrent image decoding."""

    settings: ProfileSettings
    avatar_limits: AvatarLimits
    image_workers: CapacityLimiter


async def _state(request: Request) -> ProfileState:
    state: ProfileState = request.app.state.profile
    return state


State = Annotated[ProfileState, Depends(_state)]
