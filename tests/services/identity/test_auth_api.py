"""``/api/v1/auth``: register, login, refresh, logout, validate, me, password, switch-tenant."""

from __future__ import annotations

import uuid

import pytest

from tests.helpers import PASSWORD, assert_error, introspect, login, register, unique_email


async def test_register_creates_user_and_personal_tenant_owned_by_them(client):
    email = unique_email()
    response = await client.post(
        "/api/v1/auth/register",
        json={"email": email, "password": PASSWORD, "display_name": "Ada"},
    )
    assert response.status_code == 201
    data = response.json()["data"]
    assert data["user"]["email"] == email
    assert data["user"]["display_name"] == "Ada"
    assert data["tenant"]["personal"] is True
    assert "password" not in response.text
    assert "hash" not in response.text
    tokens = await login(client, email)
    me = (await client.get("/api/v1/auth/me", headers=_bearer(tokens))).json()["data"]
    assert me["tenant"]["id"] == data["tenant"]["id"]
    assert me["role"] == "owner"
    assert me["scopes"] == ["admin", "read", "write"]


async def test_register_normalises_email_case_and_refuses_duplicates(client):
    email = unique_email()
    await register(client, email)
    response = await client.post(
        "/api/v1/auth/register", json={"email": email.upper(), "password": PASSWORD}
    )
    assert_error(response, 409, "CONFLICT")


@pytest.mark.parametrize(
    ("body", "location"),
    [
        ({"email": "not-an-email", "password": PASSWORD}, "body.email"),
        ({"email": "a@example.com", "password": "short"}, "body.password"),
        ({"email": "a@example.com", "password": "x" * 1025}, "body.password"),
        ({"email": "a@example.com"}, "body.password"),
        ({"email": "a@example.com", "password": PASSWORD, "role": "admin"}, "body.role"),
    ],
)
async def test_register_validation_errors_name_the_field(client, body, location):
    error = assert_error(await client.post("/api/v1/auth/register", json=body), 422)
    assert location in [e["location"] for e in error["details"]["errors"]]


async def test_password_of_1024_characters_is_accepted_whole(client):
    password = "p" * 1023 + "q"
    account = await register(client, password=password)
    response = await client.post(
        "/api/v1/auth/login", json={"email": account.email, "password": "p" * 1023 + "r"}
    )
    assert_error(response, 401)  # the last character counts: no truncation


async def test_login_returns_a_token_pair(client):
    account = await register(client)
    tokens = await login(client, account.email)
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == 900
    assert tokens["refresh_token"].startswith("dgr_")
    assert tokens["tenant_id"] == account.tenant_id


async def test_unknown_user_and_wrong_password_get_the_same_answer(client):
    account = await register(client)
    wrong = await client.post(
        "/api/v1/auth/login", json={"email": account.email, "password": "wrong password"}
    )
    unknown = await client.post(
        "/api/v1/auth/login", json={"email": unique_email(), "password": "wrong password"}
    )
    assert wrong.status_code == unknown.status_code == 401
    wrong_error, unknown_error = wrong.json()["error"], unknown.json()["error"]
    assert {**wrong_error, "request_id": None} == {**unknown_error, "request_id": None}


async def test_login_into_a_tenant_the_user_is_not_in_is_not_found(client):
    account = await register(client)
    other = await register(client)
    response = await client.post(
        "/api/v1/auth/login",
        json={"email": account.email, "password": PASSWORD, "tenant_id": other.tenant_id},
    )
    assert_error(response, 404)


async def test_refresh_rotates_the_token(client):
    account = await register(client)
    response = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": account.refresh_token}
    )
    assert response.status_code == 200
    fresh = response.json()["data"]
    assert fresh["refresh_token"] != account.refresh_token
    me = await client.get("/api/v1/auth/me", headers=_bearer(fresh))
    assert me.status_code == 200


async def test_refresh_with_garbage_is_unauthorized(client):
    response = await client.post("/api/v1/auth/refresh", json={"refresh_token": "dgr_nope"})
    assert_error(response, 401, "UNAUTHORIZED")


async def test_logout_ends_only_this_session(client):
    account = await register(client)
    second = await login(client, account.email)
    response = await client.post("/api/v1/auth/logout", json={}, headers=account.headers)
    assert response.status_code == 204
    assert_error(await client.get("/api/v1/auth/me", headers=account.headers), 401)
    still = await client.get("/api/v1/auth/me", headers=_bearer(second))
    assert still.status_code == 200


async def test_logout_all_sessions(client):
    account = await register(client)
    second = await login(client, account.email)
    response = await client.post(
        "/api/v1/auth/logout", json={"all_sessions": True}, headers=account.headers
    )
    assert response.status_code == 204
    assert_error(await client.get("/api/v1/auth/me", headers=_bearer(second)), 401)
    refreshed = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]}
    )
    assert_error(refreshed, 401)


async def test_logout_requires_a_token(client):
    assert_error(await client.post("/api/v1/auth/logout", json={}), 401)


async def test_validate_describes_an_active_access_token(client, platform):
    account = await register(client)
    response = await introspect(platform, account.access_token)
    data = response.json()["data"]
    assert data["active"] is True
    assert data["kind"] == "user"
    assert data["sub"] == account.user_id
    assert data["tenant_id"] == account.tenant_id
    assert data["roles"] == ["owner"]
    assert data["scope"] == "admin read write"
    assert data["exp"] > 0


async def test_validate_reports_garbage_as_inactive(client, platform):
    response = await introspect(platform, "abc.def.ghi")
    assert response.status_code == 200
    assert response.json()["data"] == {
        "active": False,
        "kind": None,
        "sub": None,
        "user_id": None,
        "tenant_id": None,
        "roles": [],
        "scope": None,
        "exp": None,
        "jti": None,
        "platform_admin": False,
    }


async def test_validate_reports_a_logged_out_token_as_inactive(client, platform):
    account = await register(client)
    await client.post("/api/v1/auth/logout", json={}, headers=account.headers)
    response = await introspect(platform, account.access_token)
    assert response.json()["data"]["active"] is False


async def test_me_without_token_is_401_with_www_authenticate(client):
    response = await client.get("/api/v1/auth/me")
    assert_error(response, 401, "UNAUTHORIZED")
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_password_change_requires_the_current_password(client):
    account = await register(client)
    response = await client.post(
        "/api/v1/auth/password",
        json={"current_password": "not it", "new_password": "another long password"},
        headers=account.headers,
    )
    assert_error(response, 422)
    assert (await client.get("/api/v1/auth/me", headers=account.headers)).status_code == 200


async def test_password_change_ends_every_session_and_the_new_password_works(client):
    account = await register(client)
    response = await client.post(
        "/api/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": "another long password"},
        headers=account.headers,
    )
    assert response.status_code == 204
    assert_error(await client.get("/api/v1/auth/me", headers=account.headers), 401)
    old = await client.post(
        "/api/v1/auth/login", json={"email": account.email, "password": PASSWORD}
    )
    assert_error(old, 401)
    await login(client, account.email, "another long password")


async def test_password_change_revokes_the_users_api_keys_in_every_tenant(client, platform):
    account = await register(client)
    bystander = await register(client)
    created = await client.post("/api/v1/tenants", json={"name": "Team"}, headers=account.headers)
    switched = await client.post(
        "/api/v1/auth/switch-tenant",
        json={"tenant_id": created.json()["data"]["id"]},
        headers=account.headers,
    )
    keys = [
        await _api_key(client, account.headers),
        await _api_key(client, _bearer(switched.json()["data"])),
    ]
    unrelated = await _api_key(client, bystander.headers)
    for secret in [*keys, unrelated]:
        assert (await client.get("/api/v1/auth/me", headers=_key(secret))).status_code == 200
    response = await client.post(
        "/api/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": "another long password"},
        headers=account.headers,
    )
    assert response.status_code == 204
    for secret in keys:
        assert_error(await client.get("/api/v1/auth/me", headers=_key(secret)), 401)
        validated = await introspect(platform, secret)
        assert validated.json()["data"]["active"] is False
    assert (await client.get("/api/v1/auth/me", headers=_key(unrelated))).status_code == 200
    tokens = await login(client, account.email, "another long password")
    listed = (await client.get("/api/v1/api-keys", headers=_bearer(tokens))).json()["data"]
    assert [k["revoked_at"] is not None for k in listed] == [True]


async def _api_key(client, headers: dict[str, str]) -> str:
    created = await client.post(
        "/api/v1/api-keys", json={"name": "ci", "scopes": ["read"]}, headers=headers
    )
    assert created.status_code == 201, created.text
    secret: str = created.json()["data"]["secret"]
    return secret


def _key(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


async def test_switch_tenant_issues_a_token_for_that_tenant(client):
    owner = await register(client)
    created = await client.post("/api/v1/tenants", json={"name": "Team"}, headers=owner.headers)
    team_id = created.json()["data"]["id"]
    response = await client.post(
        "/api/v1/auth/switch-tenant", json={"tenant_id": team_id}, headers=owner.headers
    )
    assert response.status_code == 200
    tokens = response.json()["data"]
    me = (await client.get("/api/v1/auth/me", headers=_bearer(tokens))).json()["data"]
    assert me["tenant"]["id"] == team_id
    assert me["role"] == "owner"


async def test_switch_to_a_tenant_of_someone_else_is_not_found(client):
    account = await register(client)
    other = await register(client)
    response = await client.post(
        "/api/v1/auth/switch-tenant", json={"tenant_id": other.tenant_id}, headers=account.headers
    )
    assert_error(response, 404)
    response = await client.post(
        "/api/v1/auth/switch-tenant",
        json={"tenant_id": str(uuid.uuid4())},
        headers=account.headers,
    )
    assert_error(response, 404)


def _bearer(tokens: dict[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}
