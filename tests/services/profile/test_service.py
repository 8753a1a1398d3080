"""The service layer beyond HTTP: ``ensure_profile`` is what the registration handler will call."""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy import func, select

from devgen.services.profile.models import NotificationSetting, Profile
from devgen.services.profile.schemas import (
    DEFAULT_CHANNELS,
    EventKind,
    NotificationSettingsRead,
    NotificationSettingsUpdate,
)
from devgen.services.profile.service import ensure_profile


def _database(platform):
    return platform.state.upstream_apps["profile"].state.database


async def test_ensure_profile_creates_once_with_defaults(platform):
    database = _database(platform)
    user_id = uuid.uuid4()
    async with database.transaction() as session:
        created = await ensure_profile(session, user_id)
        assert (created.user_id, created.theme, created.language) == (user_id, "system", "en")
    async with database.transaction() as session:
        created.theme = "dark"
        session.add(created)
    async with database.transaction() as session:
        again = await ensure_profile(session, user_id)
        assert again.theme == "dark"


async def test_ensure_profile_is_safe_when_called_concurrently(platform):
    database = _database(platform)
    user_id = uuid.uuid4()

    async def ensure() -> uuid.UUID:
        async with database.transaction() as session:
            return (await ensure_profile(session, user_id)).user_id

    assert set(await asyncio.gather(*(ensure() for _ in range(8)))) == {user_id}
    async with database.transaction() as session:
        count = await session.scalar(
            select(func.count()).select_from(Profile).where(Profile.user_id == user_id)
        )
    assert count == 1


async def test_a_deleted_profile_takes_its_settings_with_it(platform):
    database = _database(platform)
    user_id = uuid.uuid4()
    async with database.transaction() as session:
        await ensure_profile(session, user_id)
        session.add(NotificationSetting(user_id=user_id, event_kind="run_failed", channel="none"))
    async with database.transaction() as session:
        await session.delete(await session.get(Profile, user_id))
    async with database.transaction() as session:
        left = await session.scalar(
            select(func.count())
            .select_from(NotificationSetting)
            .where(NotificationSetting.user_id == user_id)
        )
    assert left == 0


def test_every_event_kind_has_a_default_and_a_field():
    assert set(DEFAULT_CHANNELS) == set(EventKind)
    assert set(NotificationSettingsUpdate.model_fields) == {kind.value for kind in EventKind}
    assert set(NotificationSettingsRead.model_fields) == {kind.value for kind in EventKind}
