"""Profile and events: a profile for every registered account, and events for changes."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from devgen.kit.db import utcnow
from devgen.kit.events import Event
from devgen.kit.events.bus import OutgoingEvent
from devgen.kit.events.tables import outbox
from devgen.services.profile.models import Profile
from tests.helpers import assert_error, eventually, register
from tests.services.profile.support import AVATAR, ME, NOTIFICATIONS, image_bytes, put_avatar


def _profile_app(platform):
    return platform.state.upstream_apps["profile"]


async def _profile_row(platform, user_id: str) -> Profile | None:
    async with _profile_app(platform).state.database.transaction() as session:
        return await session.get(Profile, uuid.UUID(user_id))


async def _events(platform, event_type: str) -> list[Event]:
    async with _profile_app(platform).state.database.transaction() as session:
        rows = await session.scalars(
            select(outbox.c.envelope).where(outbox.c.type == event_type).order_by(outbox.c.position)
        )
        return [Event.from_json(raw) for raw in rows]


async def test_registration_creates_the_profile_through_the_event(client, platform):
    account = await register(client)
    profile = await eventually(lambda: _profile_row(platform, account.user_id))
    assert (profile.theme, profile.language) == ("system", "en")


async def test_a_repeated_registered_event_keeps_the_existing_profile(client, platform):
    account = await register(client)
    await eventually(lambda: _profile_row(platform, account.user_id))
    changed = await client.patch(ME, json={"theme": "dark"}, headers=account.headers)
    assert changed.status_code == 200, changed.text
    repeat = Event(
        id=str(uuid.uuid4()),  # a new id: the inbox cannot help, the handler itself must
        type="identity.user.registered",
        source="/devgen/identity",
        time=utcnow(),
        subject=account.user_id,
    )
    [future] = await _profile_app(platform).state.bus.publish(
        [OutgoingEvent(repeat.id, repeat.type, repeat.to_json())]
    )
    assert await future is True
    assert (await _profile_row(platform, account.user_id)).theme == "dark"


async def test_changing_preferences_emits_the_changed_field_names(client, platform):
    account = await register(client)
    await client.patch(ME, json={"theme": "dark", "language": "de"}, headers=account.headers)
    [event] = await _events(platform, "profile.preferences.updated")
    assert (event.subject, event.actor, event.tenant_id) == (
        account.user_id,
        f"user:{account.user_id}",
        account.tenant_id,
    )
    assert event.data == {"user_id": account.user_id, "fields": ["language", "theme"]}


async def test_avatar_and_notification_changes_emit_events(client, platform):
    account = await register(client)
    uploaded = await put_avatar(client, account, image_bytes())
    assert uploaded.status_code == 200, uploaded.text
    await client.delete(AVATAR, headers=account.headers)
    await client.put(NOTIFICATIONS, json={}, headers=account.headers)
    [changed] = await _events(platform, "profile.avatar.changed")
    assert changed.data["sha256"] == uploaded.json()["data"]["sha256"]
    assert len(await _events(platform, "profile.avatar.removed")) == 1
    assert len(await _events(platform, "profile.notifications.updated")) == 1


async def test_a_refused_avatar_emits_nothing(client, platform):
    account = await register(client)
    refused = await put_avatar(client, account, b"not an image at all")
    assert_error(refused, 415)
    assert await _events(platform, "profile.avatar.changed") == []
