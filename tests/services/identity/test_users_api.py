"""``/api/v1/users``: tenant administrators list, get, disable and enable users."""

from __future__ import annotations

import uuid

from tests.helpers import assert_error, login, register
from tests.services.identity.test_tenants_api import _as_member, _team_with


async def test_admin_lists_users_of_the_tenant(client):
    owner = await register(client)
    member = await register(client)
    team = await _team_with(client, owner, (member, "member"))
    response = await client.get("/api/v1/users", headers=team.headers)
    assert response.status_code == 200
    body = response.json()
    assert body["metadata"]["total"] == 2
    assert {u["email"] for u in body["data"]} == {owner.email, member.email}


async def test_users_listing_is_paginated(client):
    owner = await register(client)
    members = [await register(client) for _ in range(3)]
    team = await _team_with(client, owner, *[(m, "viewer") for m in members])
    first = (await client.get("/api/v1/users?limit=2", headers=team.headers)).json()
    second = (await client.get("/api/v1/users?limit=2&offset=2", headers=team.headers)).json()
    assert first["metadata"] == {"total": 4, "limit": 2, "offset": 0, "next_cursor": None}
    assert len(first["data"]) == 2
    assert len(second["data"]) == 2
    assert not {u["id"] for u in first["data"]} & {u["id"] for u in second["data"]}
    assert_error(await client.get("/api/v1/users?limit=0", headers=team.headers), 422)
    assert_error(await client.get("/api/v1/users?limit=101", headers=team.headers), 422)


async def test_member_cannot_list_users(client):
    owner = await register(client)
    member = await register(client)
    team = await _team_with(client, owner, (member, "member"))
    as_member = await _as_member(client, member, team.tenant_id)
    assert_error(await client.get("/api/v1/users", headers=as_member.headers), 403, "FORBIDDEN")


async def test_user_of_another_tenant_is_not_found(client):
    owner = await register(client)
    stranger = await register(client)
    response = await client.get(f"/api/v1/users/{stranger.user_id}", headers=owner.headers)
    assert_error(response, 404)
    assert_error(await client.get(f"/api/v1/users/{uuid.uuid4()}", headers=owner.headers), 404)
    own = await client.get(f"/api/v1/users/{owner.user_id}", headers=owner.headers)
    assert own.json()["data"]["role"] == "owner"


async def test_tenant_admin_disable_suspends_membership_and_revokes_sessions(client):
    owner = await register(client)
    member = await register(client)
    team = await _team_with(client, owner, (member, "member"))
    as_member = await _as_member(client, member, team.tenant_id)
    response = await client.post(f"/api/v1/users/{member.user_id}/disable", headers=team.headers)
    assert response.json()["data"] == {
        "user_id": member.user_id,
        "scope": "tenant",
        "active": False,
    }
    assert_error(await client.get("/api/v1/auth/me", headers=as_member.headers), 401)
    refreshed = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": as_member.refresh_token}
    )
    assert_error(refreshed, 401)
    # The person keeps their own account and personal tenant.
    await login(client, member.email)
    enabled = await client.post(f"/api/v1/users/{member.user_id}/enable", headers=team.headers)
    assert enabled.json()["data"]["active"] is True
    await login(client, member.email, tenant_id=team.tenant_id)


async def test_admin_cannot_disable_themselves_or_strangers(client):
    owner = await register(client)
    stranger = await register(client)
    assert_error(
        await client.post(f"/api/v1/users/{owner.user_id}/disable", headers=owner.headers), 409
    )
    assert_error(
        await client.post(f"/api/v1/users/{stranger.user_id}/disable", headers=owner.headers), 404
    )
