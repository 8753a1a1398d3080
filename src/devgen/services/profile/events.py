"""The events profile emits, and the one it consumes.

It emits when a person changes their profile (which fields, not their
values), their avatar or their notification settings, and it creates a
profile for every new account when ``identity.user.registered`` arrives.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from devgen.kit.events import Consumer, Event, emit
from devgen.services.profile import repository

PREFERENCES_UPDATED = "profile.preferences.updated"
AVATAR_CHANGED = "profile.avatar.changed"
AVATAR_REMOVED = "profile.avatar.removed"
NOTIFICATIONS_UPDATED = "profile.notifications.updated"


async def preferences_updated(
    session: AsyncSession, user_id: uuid.UUID, fields: Iterable[str]
) -> None:
    """Some preferences changed (their names only)."""
    await emit(
        session,
        PREFERENCES_UPDATED,
        subject=user_id,
        data={"user_id": user_id, "fields": sorted(fields)},
    )


async def avatar_changed(session: AsyncSession, user_id: uuid.UUID, sha256: str) -> None:
    """A new avatar (its digest identifies the image)."""
    await emit(
        session, AVATAR_CHANGED, subject=user_id, data={"user_id": user_id, "sha256": sha256}
    )


async def avatar_removed(session: AsyncSession, user_id: uuid.UUID) -> None:
    """The avatar was removed."""
    await emit(session, AVATAR_REMOVED, subject=user_id, data={"user_id": user_id})


async def notifications_updated(session: AsyncSession, user_id: uuid.UUID) -> None:
    """The notification settings were replaced."""
    await emit(session, NOTIFICATIONS_UPDATED, subject=user_id, data={"user_id": user_id})


async def on_user_registered(session: AsyncSession, event: Event) -> None:
    """Create the new account's profile (a no-op when it already exists)."""
    if event.subject is None:
        return
    await repository.insert_profile_if_missing(session, uuid.UUID(event.subject))


consumers = (Consumer("identity.user.registered", on_user_registered),)
