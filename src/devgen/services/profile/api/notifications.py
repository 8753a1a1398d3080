"""``/api/v1/profiles/me/notifications``: where each kind of event reaches the caller."""

from __future__ import annotations

from fastapi import APIRouter

from devgen.kit.deps import Session
from devgen.kit.errors import Forbidden, Unauthorized, ValidationFailed, error_responses
from devgen.kit.responses import Envelope
from devgen.services.profile import service
from devgen.services.profile.deps import ReadingOwner, WritingOwner
from devgen.services.profile.schemas import NotificationSettingsRead, NotificationSettingsUpdate

router = APIRouter(
    prefix="/api/v1/profiles/me/notifications",
    tags=["profiles"],
    responses=error_responses(Unauthorized, Forbidden),
)


@router.get("", response_model=Envelope[NotificationSettingsRead])
async def get_my_notifications(
    session: Session, owner: ReadingOwner
) -> Envelope[NotificationSettingsRead]:
    """The channel of every event kind (defaults for kinds you never set)."""
    return Envelope(data=await service.get_notifications(session, owner))


@router.put(
    "",
    response_model=Envelope[NotificationSettingsRead],
    responses=error_responses(ValidationFailed),
)
async def replace_my_notifications(
    body: NotificationSettingsUpdate, session: Session, owner: WritingOwner
) -> Envelope[NotificationSettingsRead]:
    """Replace every event kind's setting; kinds left out go back to their default.

    `webhook` needs an `https://` `webhook_url` to a public host; other
    channels must not carry one.
    """
    return Envelope(data=await service.replace_notifications(session, owner, body))
