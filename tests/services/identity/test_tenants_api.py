"""``/api/v1/tenants``: list, create, get, members (join by invitation, change role, remove)."""

from __future__ import annotations

import uuid

from tests.helpers import Account, add_member, assert_error, login, register


async def _team_with(client, owner: Account, *members: tuple[Account, str]) -> Account:
    """Owner's token switched into a new team tenant with the given members."""
    created = await client.post("/api/v1/tenants", json={"name": "Team"}, headers=owner.headers)
    assert created.status_code == 201, created.text
    team_id = created.json()["data"]["id"]
    switched = await client.post(
        "/api/v1/auth/switch-tenant", json={"tenant_id": team_id}, headers=owner.headers
    )
    tokens = switched.json()["data"]
    team_owner = Account(
        owner.email,
        owner.password,
        owner.user_id,
        team_id,
        tokens["access_token"],
        tokens["refresh_token"],
    )
    for member, role in members:
        await add_member(client, team_owner, member, role)
    return team_owner


async def _as_member(client, member: Account, tenant_id: str) -> Account:
    tokens = await login(client, member.email, tenant_id=tenant_id)
    return Account(
        member.email,
        member.password,
        member.user_id,
        tenant_id,
        tokens["access_token"],
        tokens["refresh_token"],
    )


async def test_list_my_tenants_shows_role(client):
    owner = await register(client)
    await _team_with(client, owner)
    response = await client.get("/api/v1/tenants", headers=owner.headers)
    data = response.json()["data"]
    assert [t["personal"] for t in data] == [True, False]
    assert {t["role"] for t in data} == {"owner"}


async def test_create_tenant_validates_the_name(client):
    owner = await register(client)
    assert_error(
        await client.post("/api/v1/tenants", json={"name": ""}, headers=owner.headers), 422
    )
    assert_error(
        await client.post("/api/v1/tenants", json={"name": "x" * 101}, headers=owner.headers), 422
    )


async def test_get_tenant_of_another_user_is_not_found(client):
    owner = await register(client)
    stranger = await register(client)
    response = await client.get(f"/api/v1/tenants/{owner.tenant_id}", headers=stranger.headers)
    assert_error(response, 404, "NOT_FOUND")
    mine = await client.get(f"/api/v1/tenants/{owner.tenant_id}", headers=owner.headers)
    assert mine.json()["data"]["id"] == owner.tenant_id


async def test_add_member_and_list_members(client):
    owner = await register(client)
    member = await register(client)
    team = await _team_with(client, owner, (member, "member"))
    response = await client.get(f"/api/v1/tenants/{team.tenant_id}/members", headers=team.headers)
    body = response.json()
    assert body["metadata"]["total"] == 2
    roles = {m["email"]: m["role"] for m in body["data"]}
    assert roles == {owner.email: "owner", member.email: "member"}
    as_member = await _as_member(client, member, team.tenant_id)
    me = (await client.get("/api/v1/auth/me", headers=as_member.headers)).json()["data"]
    assert me["role"] == "member"


async def test_members_cannot_be_added_directly_any_more(client):
    owner = await register(client)
    member = await register(client)
    team = await _team_with(client, owner)
    response = await client.post(
        f"/api/v1/tenants/{team.tenant_id}/members",
        json={"email": member.email, "role": "member"},
        headers=team.headers,
    )
    assert_error(response, 405)
    listed = await client.get(f"/api/v1/tenants/{team.tenant_id}/members", headers=team.headers)
    assert [m["email"] for m in listed.json()["data"]] == [owner.email]


async def test_admin_cannot_grant_ownership(client):
    owner = await register(client)
    admin = await register(client)
    member = await register(client)
    team = await _team_with(client, owner, (admin, "admin"), (member, "member"))
    as_admin = await _as_member(client, admin, team.tenant_id)
    response = await client.patch(
        f"/api/v1/tenants/{team.tenant_id}/members/{member.user_id}",
        json={"role": "owner"},
        headers=as_admin.headers,
    )
    assert_error(response, 403)


async def test_members_of_another_tenant_are_not_found(client):
    owner = await register(client)
    stranger = await register(client)
    url = f"/api/v1/tenants/{owner.tenant_id}/members"
    assert_error(await client.get(url, headers=stranger.headers), 404)
    invitations = f"/api/v1/tenants/{owner.tenant_id}/invitations"
    assert_error(
        await client.post(invitations, json={"email": stranger.email}, headers=stranger.headers),
        404,
    )


async def test_change_role_and_demotion_revokes_sessions_with_the_old_role(client):
    owner = await register(client)
    member = await register(client)
    team = await _team_with(client, owner, (member, "admin"))
    as_member = await _as_member(client, member, team.tenant_id)
    response = await client.patch(
        f"/api/v1/tenants/{team.tenant_id}/members/{member.user_id}",
        json={"role": "viewer"},
        headers=team.headers,
    )
    assert response.json()["data"]["role"] == "viewer"
    assert_error(await client.get("/api/v1/auth/me", headers=as_member.headers), 401)


async def test_last_owner_cannot_be_demoted_or_removed(client):
    owner = await register(client)
    team = await _team_with(client, owner)
    url = f"/api/v1/tenants/{team.tenant_id}/members/{owner.user_id}"
    assert_error(await client.patch(url, json={"role": "admin"}, headers=team.headers), 409)
    assert_error(await client.delete(url, headers=team.headers), 409)


async def test_second_owner_makes_demotion_possible(client):
    owner = await register(client)
    other = await register(client)
    team = await _team_with(client, owner, (other, "owner"))
    url = f"/api/v1/tenants/{team.tenant_id}/members/{owner.user_id}"
    response = await client.patch(url, json={"role": "admin"}, headers=team.headers)
    assert response.status_code == 200


async def test_remove_member_revokes_their_access_to_the_tenant(client):
    owner = await register(client)
    member = await register(client)
    team = await _team_with(client, owner, (member, "member"))
    as_member = await _as_member(client, member, team.tenant_id)
    response = await client.delete(
        f"/api/v1/tenants/{team.tenant_id}/members/{member.user_id}", headers=team.headers
    )
    assert response.status_code == 204
    assert_error(await client.get("/api/v1/auth/me", headers=as_member.headers), 401)
    relogin = await client.post(
        "/api/v1/auth/login",
        json={"email": member.email, "password": member.password, "tenant_id": team.tenant_id},
    )
    assert_error(relogin, 404)


async def test_member_can_leave_but_not_remove_others(client):
    owner = await register(client)
    member = await register(client)
    viewer = await register(client)
    team = await _team_with(client, owner, (member, "member"), (viewer, "viewer"))
    as_member = await _as_member(client, member, team.tenant_id)
    base = f"/api/v1/tenants/{team.tenant_id}/members"
    assert_error(await client.delete(f"{base}/{viewer.user_id}", headers=as_member.headers), 403)
    left = await client.delete(f"{base}/{member.user_id}", headers=as_member.headers)
    assert left.status_code == 204


async def test_unknown_member_is_not_found(client):
    owner = await register(client)
    team = await _team_with(client, owner)
    response = await client.patch(
        f"/api/v1/tenants/{team.tenant_id}/members/{uuid.uuid4()}",
        json={"role": "viewer"},
        headers=team.headers,
    )
    assert_error(response, 404)


async def test_invalid_role_is_a_validation_error(client):
    owner = await register(client)
    member = await register(client)
    team = await _team_with(client, owner)
    response = await client.post(
        f"/api/v1/tenants/{team.tenant_id}/invitations",
        json={"email": member.email, "role": "god"},
        headers=team.headers,
    )
    assert_error(response, 422)
