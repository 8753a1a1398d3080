"""``/api/v1/api-keys``: create (secret once), list, revoke; keys as Bearer credentials."""

from __future__ import annotations

import uuid

from tests.helpers import assert_error, introspect, register
from tests.services.identity.test_tenants_api import _as_member, _team_with


async def _create_key(client, account, **body):
    response = await client.post(
        "/api/v1/api-keys", json={"name": "ci", **body}, headers=account.headers
    )
    assert response.status_code == 201, response.text
    return response.json()["data"]


async def test_create_key_shows_the_secret_once(client):
    account = await register(client)
    key = await _create_key(client, account, scopes=["read", "write"])
    assert key["secret"].startswith("dgk_")
    assert key["prefix"] == key["secret"][:12]
    assert key["scopes"] == ["read", "write"]
    listing = await client.get("/api/v1/api-keys", headers=account.headers)
    assert key["secret"] not in listing.text
    assert [k["id"] for k in listing.json()["data"]] == [key["id"]]


async def test_api_key_works_as_a_bearer_credential(client):
    account = await register(client)
    key = await _create_key(client, account, scopes=["read"])
    response = await client.get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {key['secret']}"}
    )
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["credential"] == "api_key"
    assert data["scopes"] == ["read"]
    assert data["user"]["id"] == account.user_id


async def test_api_key_cannot_manage_keys_or_tenants(client):
    account = await register(client)
    key = await _create_key(client, account, scopes=["read", "write", "admin"])
    headers = {"Authorization": f"Bearer {key['secret']}"}
    assert_error(await client.post("/api/v1/api-keys", json={"name": "x"}, headers=headers), 403)
    assert_error(await client.post("/api/v1/tenants", json={"name": "x"}, headers=headers), 403)


async def test_key_scopes_cannot_exceed_the_creators(client):
    owner = await register(client)
    viewer = await register(client)
    team = await _team_with(client, owner, (viewer, "viewer"))
    as_viewer = await _as_member(client, viewer, team.tenant_id)
    response = await client.post(
        "/api/v1/api-keys", json={"name": "x", "scopes": ["write"]}, headers=as_viewer.headers
    )
    assert_error(response, 403)


async def test_unknown_scope_and_past_expiry_are_validation_errors(client):
    account = await register(client)
    unknown = await client.post(
        "/api/v1/api-keys", json={"name": "x", "scopes": ["root"]}, headers=account.headers
    )
    assert_error(unknown, 422)
    past = await client.post(
        "/api/v1/api-keys",
        json={"name": "x", "expires_at": "2001-01-01T00:00:00Z"},
        headers=account.headers,
    )
    assert_error(past, 422)
    naive = await client.post(
        "/api/v1/api-keys",
        json={"name": "x", "expires_at": "2099-01-01T00:00:00"},
        headers=account.headers,
    )
    assert_error(naive, 422)


async def test_revoked_key_is_refused(client, platform):
    account = await register(client)
    key = await _create_key(client, account)
    headers = {"Authorization": f"Bearer {key['secret']}"}
    assert (await client.get("/api/v1/auth/me", headers=headers)).status_code == 200
    revoked = await client.delete(f"/api/v1/api-keys/{key['id']}", headers=account.headers)
    assert revoked.json()["data"]["revoked_at"] is not None
    assert_error(await client.get("/api/v1/auth/me", headers=headers), 401)
    validation = await introspect(platform, key["secret"])
    assert validation.json()["data"]["active"] is False


async def test_key_of_another_tenant_is_not_found(client):
    account = await register(client)
    stranger = await register(client)
    key = await _create_key(client, account)
    response = await client.delete(f"/api/v1/api-keys/{key['id']}", headers=stranger.headers)
    assert_error(response, 404)
    assert_error(
        await client.delete(f"/api/v1/api-keys/{uuid.uuid4()}", headers=account.headers), 404
    )


async def test_members_see_only_their_keys_admins_see_all(client):
    owner = await register(client)
    member = await register(client)
    team = await _team_with(client, owner, (member, "member"))
    as_member = await _as_member(client, member, team.tenant_id)
    mine = await _create_key(client, as_member)
    theirs = await _create_key(client, team)
    member_view = (await client.get("/api/v1/api-keys", headers=as_member.headers)).json()
    assert [k["id"] for k in member_view["data"]] == [mine["id"]]
    admin_view = (await client.get("/api/v1/api-keys", headers=team.headers)).json()
    assert {k["id"] for k in admin_view["data"]} == {mine["id"], theirs["id"]}
    assert_error(
        await client.delete(f"/api/v1/api-keys/{theirs['id']}", headers=as_member.headers), 404
    )


async def test_expired_key_is_refused(client, platform):
    from sqlalchemy import update

    from devgen.kit.db import utcnow
    from devgen.services.identity.models import ApiKey

    account = await register(client)
    key = await _create_key(client, account, expires_at="2099-01-01T00:00:00Z")
    identity = platform.state.upstream_apps["identity"]
    async with identity.state.database.transaction() as session:
        await session.execute(
            update(ApiKey).where(ApiKey.id == uuid.UUID(key["id"])).values(expires_at=utcnow())
        )
    headers = {"Authorization": f"Bearer {key['secret']}"}
    assert_error(await client.get("/api/v1/auth/me", headers=headers), 401)
