"""The caller cache's own rules: what it keeps, what drops it, what it refuses to keep."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from devgen.kit.auth.principal import Principal, PrincipalKind
from devgen.kit.events import Event
from devgen.kit.events.memory import MemoryBus
from devgen.kit.settings import EventSettings
from devgen.services.identity import events
from devgen.services.identity.callers import REVOKING_EVENTS, CallerCache, CheckedCaller
from devgen.services.identity.schemas import Me, TenantRead, UserRead


def _caller(user_id: uuid.UUID | None = None) -> CheckedCaller:
    user_id = user_id or uuid.uuid4()
    tenant_id = uuid.uuid4()
    now = datetime.now(UTC)
    principal = Principal(
        subject=user_id,
        kind=PrincipalKind.user,
        tenant_id=tenant_id,
        user_id=user_id,
        roles=frozenset({"owner"}),
        token_id=uuid.uuid4().hex,
        session_id=uuid.uuid4(),
        expires_at=now + timedelta(minutes=15),
    )
    me = Me(
        user=UserRead(
            id=user_id, email="a@example.com", display_name="a", is_active=True, created_at=now
        ),
        tenant=TenantRead(id=tenant_id, name="a's workspace", personal=True, created_at=now),
        role="owner",
        scopes=["admin", "read", "write"],
        credential="user",
        platform_admin=False,
    )
    return CheckedCaller(principal, me)


def _event(event_type: str, **data: object) -> Event:
    return Event(
        id=str(uuid.uuid4()),
        type=event_type,
        source="/devgen/identity",
        time=datetime.now(UTC),
        data={key: str(value) for key, value in data.items()},
    )


async def _cache(max_age: float = 60) -> CallerCache:
    cache = CallerCache(max_age)
    bus = MemoryBus(EventSettings())
    cache.attach(await bus.listen(REVOKING_EVENTS, lambda e: cache.apply((e,)), cache.clear))
    return cache


async def test_a_check_is_remembered_and_found_by_its_principal():
    cache = await _cache()
    caller = _caller()
    cache.remember(caller, cache.generation)
    assert cache.get(caller.principal) is caller


async def test_a_check_that_overlapped_a_revocation_is_not_remembered():
    cache = await _cache()
    caller = _caller()
    started_under = cache.generation
    cache.apply([_event(events.USER_LOGGED_OUT, user_id=uuid.uuid4())])
    cache.remember(caller, started_under)
    assert cache.get(caller.principal) is None


async def test_a_revoking_event_drops_its_users_entries_only():
    cache = await _cache()
    leaving, staying = _caller(), _caller()
    for caller in (leaving, staying):
        cache.remember(caller, cache.generation)
    cache.apply([_event(events.USER_PASSWORD_CHANGED, user_id=leaving.principal.user_id)])
    assert cache.get(leaving.principal) is None
    assert cache.get(staying.principal) is staying


async def test_an_api_key_revocation_drops_its_owners_entries():
    cache = await _cache()
    owner = _caller()
    cache.remember(owner, cache.generation)
    cache.apply([_event(events.API_KEY_REVOKED, owner_id=owner.principal.user_id)])
    assert cache.get(owner.principal) is None


async def test_a_revoking_event_naming_no_one_drops_everything():
    cache = await _cache()
    caller = _caller()
    cache.remember(caller, cache.generation)
    cache.apply([_event(events.USER_DISABLED)])
    assert cache.get(caller.principal) is None


async def test_other_events_keep_the_entries():
    cache = await _cache()
    caller = _caller()
    cache.remember(caller, cache.generation)
    cache.apply([_event(events.LOGIN_SUCCEEDED, user_id=caller.principal.user_id)])
    assert cache.get(caller.principal) is caller


async def test_a_zero_max_age_keeps_nothing():
    cache = await _cache(max_age=0)
    caller = _caller()
    cache.remember(caller, cache.generation)
    assert cache.get(caller.principal) is None


async def test_without_a_live_listener_nothing_is_kept():
    cache = CallerCache(60)
    caller = _caller()
    cache.remember(caller, cache.generation)
    assert cache.get(caller.principal) is None
