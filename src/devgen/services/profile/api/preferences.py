"""``/api/v1/profiles/me``: the caller's preferences."""

from __future__ import annotations

from fastapi import APIRouter

from devgen.kit.deps import Session
from devgen.kit.errors import Forbidden, Unauthorized, ValidationFailed, error_responses
from devgen.kit.responses import Envelope
from devgen.services.profile import service
from devgen.services.profile.deps import ReadingOwner, WritingOwner
from devgen.services.profile.schemas import ProfileRead, ProfileUpdate

router = APIRouter(
    prefix="/api/v1/profiles",
    tags=["profiles"],
    responses=error_responses(Unauthorized, Forbidden),
)


@router.get("/me", response_model=Envelope[ProfileRead])
async def get_my_profile(session: Session, owner: ReadingOwner) -> Envelope[ProfileRead]:
    """Your preferences and avatar description (created with defaults on first access)."""
    return Envelope(data=await service.get_profile(session, owner))


@router.patch(
    "/me", response_model=Envelope[ProfileRead], responses=error_responses(ValidationFailed)
)
async def update_my_profile(
    body: ProfileUpdate, session: Session, owner: WritingOwner
) -> Envelope[ProfileRead]:
    """Change some preferences; fields left out keep their value.

    Unknown fields, `null` and values outside each field's choices are refused.
    """
    return Envelope(data=await service.update_profile(session, owner, body))
