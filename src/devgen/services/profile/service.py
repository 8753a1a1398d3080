"""The rules of profiles: whose profile a caller reaches, and how it changes.

A profile belongs to a person and is keyed by their user id, which comes
only from the verified credential: a user token reaches its user's profile,
an API key its owner's. No endpoint takes a user id, so nobody can name
another person's profile. Tenants play no part: preferences follow the person
into every tenant.

Any signed-in person may read and change their own profile whatever their
role (a viewer still chooses their theme). API keys act for their owner
within their scopes: ``read`` to read, ``write`` to change anything.
Service credentials have no person behind them and no profile.
"""

from __future__ import annotations

import uuid

from anyio import to_thread
from sqlalchemy.ext.asyncio import AsyncSession

from devgen.kit.auth import Principal, PrincipalKind
from devgen.kit.errors import Forbidden
from devgen.services.profile import events, repository
from devgen.services.profile.images import process_avatar
from devgen.services.profile.models import Avatar, NotificationSetting, Profile
from devgen.services.profile.schemas import (
    DEFAULT_CHANNELS,
    AvatarRead,
    EventKind,
    NotificationSettingRead,
    NotificationSettingsRead,
    NotificationSettingsUpdate,
    ProfileRead,
    ProfileUpdate,
)
from devgen.services.profile.state import ProfileState


def owner_id(principal: Principal, *, write: bool) -> uuid.UUID:
    """The user whose profile ``principal`` may reach, for reading or for writing.

    Raises ``Forbidden`` for service credentials and for API keys without
    the needed scope.
    """
    if principal.kind is PrincipalKind.user and principal.user_id is not None:
        return principal.user_id
    if principal.kind is PrincipalKind.api_key and principal.user_id is not None:
        scope = "write" if write else "read"
        if not principal.has_scope(scope):
            raise Forbidden(f"This API key needs the {scope!r} scope.")
        return principal.user_id
    raise Forbidden("Only people and their API keys have a profile.")


async def ensure_profile(session: AsyncSession, user_id: uuid.UUID) -> Profile:
    """The user's profile, created with default preferences if it does not exist yet.

    Safe to call twice or concurrently. Takes the user id rather than a
    principal so the ``identity.user.registered`` handler can call it with
    the id from the event.
    """
    profile = await repository.profile_of(session, user_id)
    if profile is None:
        await repository.insert_profile_if_missing(session, user_id)
        profile = await repository.profile_of(session, user_id)
    assert profile is not None
    return profile


def _profile_read(profile: Profile, avatar: Avatar | None) -> ProfileRead:
    return ProfileRead.model_validate(
        {
            "user_id": profile.user_id,
            "theme": profile.theme,
            "language": profile.language,
            "default_engine": profile.default_engine,
            "default_programming_language": profile.default_programming_language,
            "avatar": AvatarRead.model_validate(avatar) if avatar is not None else None,
            "created_at": profile.created_at,
            "updated_at": profile.updated_at,
        }
    )


async def get_profile(session: AsyncSession, user_id: uuid.UUID) -> ProfileRead:
    """The user's preferences and avatar description."""
    profile = await ensure_profile(session, user_id)
    return _profile_read(profile, await repository.avatar_of(session, user_id))


async def update_profile(
    session: AsyncSession, user_id: uuid.UUID, changes: ProfileUpdate
) -> ProfileRead:
    """Apply the preferences the client sent; the others keep their value."""
    profile = await ensure_profile(session, user_id)
    changed = changes.model_dump(exclude_unset=True)
    for field, value in changed.items():
        setattr(profile, field, value)
    await session.flush()
    if changed:
        await events.preferences_updated(session, user_id, changed)
    return _profile_read(profile, await repository.avatar_of(session, user_id))


def _notifications_read(rows: list[NotificationSetting]) -> NotificationSettingsRead:
    stored = {row.event_kind: row for row in rows}
    settings: dict[str, NotificationSettingRead] = {}
    for kind in EventKind:
        row = stored.get(kind.value)
        settings[kind.value] = (
            NotificationSettingRead(channel=DEFAULT_CHANNELS[kind], webhook_url=None)
            if row is None
            else NotificationSettingRead.model_validate(
                {"channel": row.channel, "webhook_url": row.webhook_url}
            )
        )
    return NotificationSettingsRead.model_validate(settings)


async def get_notifications(session: AsyncSession, user_id: uuid.UUID) -> NotificationSettingsRead:
    """Every event kind's channel, defaults included."""
    await ensure_profile(session, user_id)
    return _notifications_read(await repository.notification_settings_of(session, user_id))


async def replace_notifications(
    session: AsyncSession, user_id: uuid.UUID, settings: NotificationSettingsUpdate
) -> NotificationSettingsRead:
    """Store a setting for every event kind (defaults for kinds the client left out)."""
    await ensure_profile(session, user_id)
    rows = {
        row.event_kind: row for row in await repository.notification_settings_of(session, user_id)
    }
    for kind in EventKind:
        wanted = getattr(settings, kind.value)
        row = rows.get(kind.value)
        if row is None:
            row = NotificationSetting(user_id=user_id, event_kind=kind.value)
            session.add(row)
            rows[kind.value] = row
        row.channel = wanted.channel.value
        row.webhook_url = wanted.webhook_url
    await session.flush()
    await events.notifications_updated(session, user_id)
    return _notifications_read(list(rows.values()))


async def set_avatar(
    session: AsyncSession, state: ProfileState, user_id: uuid.UUID, raw: bytes
) -> AvatarRead:
    """Check and re-encode ``raw``, then make it the user's avatar.

    The image is processed before anything is written, so a refused file
    changes nothing.
    """
    processed = await to_thread.run_sync(
        process_avatar, raw, state.avatar_limits, limiter=state.image_workers
    )
    await ensure_profile(session, user_id)
    avatar = await repository.avatar_of(session, user_id)
    if avatar is None:
        avatar = Avatar(user_id=user_id)
        session.add(avatar)
    avatar.content_type = processed.content_type
    avatar.sha256 = processed.sha256
    avatar.width = processed.width
    avatar.height = processed.height
    avatar.size_bytes = len(processed.data)
    avatar.data = processed.data
    await session.flush()
    await events.avatar_changed(session, user_id, processed.sha256)
    return AvatarRead.model_validate(avatar)


async def avatar_with_data(session: AsyncSession, user_id: uuid.UUID) -> Avatar | None:
    """The user's avatar with its bytes, or None when they have none."""
    return await repository.avatar_of(session, user_id, with_data=True)


async def remove_avatar(session: AsyncSession, user_id: uuid.UUID) -> None:
    """Delete the user's avatar; nothing happens when there is none."""
    avatar = await repository.avatar_of(session, user_id)
    if avatar is not None:
        await session.delete(avatar)
        await session.flush()
        await events.avatar_removed(session, user_id)
