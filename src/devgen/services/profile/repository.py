"""Profile's queries. Everything is looked up by the owner's user id, never by anything else."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import undefer

from devgen.services.profile.models import Avatar, NotificationSetting, Profile


async def profile_of(session: AsyncSession, user_id: uuid.UUID) -> Profile | None:
    """The user's profile, if it exists yet."""
    return await session.get(Profile, user_id)


async def insert_profile_if_missing(session: AsyncSession, user_id: uuid.UUID) -> None:
    """Create the user's profile with defaults unless it exists.

    ``ON CONFLICT DO NOTHING`` makes two first requests arriving together
    both succeed instead of one failing on the primary key.
    """
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    await session.execute(
        insert(Profile).values(user_id=user_id).on_conflict_do_nothing(index_elements=["user_id"])
    )


async def notification_settings_of(
    session: AsyncSession, user_id: uuid.UUID
) -> list[NotificationSetting]:
    """The user's stored notification settings (kinds never set have no row)."""
    rows = await session.scalars(
        select(NotificationSetting).where(NotificationSetting.user_id == user_id)
    )
    return list(rows)


async def avatar_of(
    session: AsyncSession, user_id: uuid.UUID, *, with_data: bool = False
) -> Avatar | None:
    """The user's avatar; its bytes are loaded only when ``with_data``."""
    options = [undefer(Avatar.data)] if with_data else []
    avatar: Avatar | None = await session.scalar(
        select(Avatar).where(Avatar.user_id == user_id).options(*options)
    )
    return avatar
