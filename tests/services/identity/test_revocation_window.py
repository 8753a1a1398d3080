"""The revocation window at identity: remembered token checks end with identity's events.

Two identity replicas share one database and one bus (the in-process bus,
and the real RabbitMQ). A token checked at replica B is remembered there;
revoking it at replica A must make B refuse it as soon as B has received the
event, long before the cache's own bound (set far beyond the test's wait).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI

from devgen.kit.app import create_app
from devgen.kit.settings import EventSettings, Settings
from devgen.runtime.registry import load_definition
from tests.events.broker import AMQP_URL, delete_topology, require_broker, unique_prefix
from tests.helpers import PASSWORD, assert_error, eventually, register

ME = "/api/v1/auth/me"


@pytest.fixture
def platform_services() -> tuple[str, ...]:
    return ("identity",)


@pytest.fixture(params=["memory", pytest.param("amqp", marks=pytest.mark.rabbitmq)])
async def bus_settings(request: pytest.FixtureRequest) -> AsyncIterator[EventSettings]:
    """The in-process bus, or RabbitMQ under names of this test's own (removed afterwards)."""
    if request.param == "memory":
        yield EventSettings()
        return
    require_broker()
    prefix = unique_prefix("identity-cache")
    yield EventSettings(bus_url=AMQP_URL, bus_prefix=prefix)
    await delete_topology(prefix, [])


@dataclass
class Replica:
    app: FastAPI
    client: httpx.AsyncClient

    async def me(self, token: str) -> httpx.Response:
        return await self.client.get(ME, headers={"Authorization": f"Bearer {token}"})

    @property
    def remembered(self) -> int:
        return len(self.app.state.identity.callers)


@pytest.fixture
async def replicas(
    settings: Settings, bus_settings: EventSettings, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[Replica, Replica]]:
    """Identity twice, on one database and one bus, each trusting a check for 15 minutes."""
    monkeypatch.setenv("DEVGEN_IDENTITY_CALLER_CACHE_SECONDS", "900")
    shared = settings.model_copy(update={"events": bus_settings})
    async with AsyncExitStack() as stack:
        started = []
        for _ in range(2):
            app = create_app(load_definition("identity"), shared)
            await stack.enter_async_context(app.router.lifespan_context(app))
            transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
            client = await stack.enter_async_context(
                httpx.AsyncClient(transport=transport, base_url="http://identity")
            )
            started.append(Replica(app, client))
        for replica in started:
            callers = replica.app.state.identity.callers
            await eventually(lambda c=callers: c.in_use, what="the bus listener is live")
        yield started[0], started[1]


async def _remembered_at(replica: Replica, token: str) -> None:
    assert (await replica.me(token)).status_code == 200
    assert replica.remembered == 1, "the check must be remembered, or this proves nothing"
    assert (await replica.me(token)).status_code == 200


async def _refused_once_the_event_arrives(replica: Replica, token: str) -> None:
    response = await eventually(
        lambda: replica.me(token),
        until=lambda answer: answer.status_code != 200,
        what="the other replica refuses the revoked token",
    )
    assert_error(response, 401, "UNAUTHORIZED")


async def test_logout_at_one_replica_ends_the_token_at_the_other(replicas):
    first, second = replicas
    account = await register(first.client)
    await _remembered_at(second, account.access_token)
    await _remembered_at(first, account.access_token)
    headers = {"Authorization": f"Bearer {account.access_token}"}
    logout = await first.client.post("/api/v1/auth/logout", json={}, headers=headers)
    assert logout.status_code == 204, logout.text
    # Where the revocation was made it holds at once: the commit dropped the check.
    assert_error(await first.me(account.access_token), 401, "UNAUTHORIZED")
    await _refused_once_the_event_arrives(second, account.access_token)


async def test_password_change_at_one_replica_ends_every_session_at_the_other(replicas):
    first, second = replicas
    account = await register(first.client)
    await _remembered_at(second, account.access_token)
    change = await first.client.post(
        "/api/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": "another long passphrase"},
        headers={"Authorization": f"Bearer {account.access_token}"},
    )
    assert change.status_code == 204, change.text
    await _refused_once_the_event_arrives(second, account.access_token)


async def test_a_stolen_refresh_token_replayed_ends_the_session_at_every_replica(replicas):
    first, second = replicas
    account = await register(first.client)
    await _remembered_at(second, account.access_token)
    refresh = {"refresh_token": account.refresh_token}
    assert (await first.client.post("/api/v1/auth/refresh", json=refresh)).status_code == 200
    replay = await first.client.post("/api/v1/auth/refresh", json=refresh)
    assert_error(replay, 401, "UNAUTHORIZED")
    await _refused_once_the_event_arrives(second, account.access_token)


async def test_other_users_keep_their_remembered_checks(replicas):
    first, second = replicas
    leaving, staying = await register(first.client), await register(first.client)
    await _remembered_at(second, leaving.access_token)
    assert (await second.me(staying.access_token)).status_code == 200
    headers = {"Authorization": f"Bearer {leaving.access_token}"}
    assert (await first.client.post("/api/v1/auth/logout", json={}, headers=headers)).is_success
    await _refused_once_the_event_arrives(second, leaving.access_token)
    assert second.remembered == 1
    assert (await second.me(staying.access_token)).status_code == 200
