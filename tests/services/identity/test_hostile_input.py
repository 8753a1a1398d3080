"""NUL bytes and 1 MB strings in every text field: a 4xx, never a 500, nothing changed."""

from __future__ import annotations

import pytest

from tests.helpers import PASSWORD, register

NUL = "a\x00b"
HUGE = "x" * (1024 * 1024)


def _bodies(account_email: str, tenant_id: str):
    """(method, path, body-with-{bad}) for every text field identity reads."""
    invitations = f"/api/v1/tenants/{tenant_id}/invitations"
    return [
        ("POST", "/api/v1/auth/register", {"email": "{bad}", "password": PASSWORD}),
        ("POST", "/api/v1/auth/register", {"email": "n@example.com", "password": "{bad}"}),
        (
            "POST",
            "/api/v1/auth/register",
            {"email": "m@example.com", "password": PASSWORD, "display_name": "{bad}"},
        ),
        ("POST", "/api/v1/auth/login", {"email": "{bad}", "password": PASSWORD}),
        ("POST", "/api/v1/auth/login", {"email": account_email, "password": "{bad}"}),
        ("POST", "/api/v1/auth/refresh", {"refresh_token": "{bad}"}),
        ("POST", "/api/v1/auth/password", {"current_password": "{bad}", "new_password": PASSWORD}),
        ("POST", "/api/v1/auth/password", {"current_password": PASSWORD, "new_password": "{bad}"}),
        ("POST", "/api/v1/auth/switch-tenant", {"tenant_id": "{bad}"}),
        ("POST", "/api/v1/tenants", {"name": "{bad}"}),
        ("POST", invitations, {"email": "{bad}", "role": "member"}),
        ("POST", invitations, {"email": account_email, "role": "{bad}"}),
        ("POST", "/api/v1/invitations/accept", {"token": "{bad}"}),
        ("POST", "/api/v1/invitations/decline", {"token": "{bad}"}),
        ("POST", "/api/v1/api-keys", {"name": "{bad}"}),
        ("POST", "/api/v1/api-keys", {"name": "k", "scopes": ["{bad}"]}),
        ("POST", "/api/v1/api-keys", {"name": "k", "expires_at": "{bad}"}),
    ]


def _fill(body, bad: str):
    if isinstance(body, dict):
        return {k: _fill(v, bad) for k, v in body.items()}
    if isinstance(body, list):
        return [_fill(v, bad) for v in body]
    return bad if body == "{bad}" else body


@pytest.mark.parametrize("bad", [NUL, HUGE], ids=["nul", "1mb"])
async def test_every_text_field_refuses_nul_and_huge_values(client, bad):
    account = await register(client)
    before = (await client.get("/api/v1/tenants", headers=account.headers)).json()
    for method, path, template in _bodies(account.email, account.tenant_id):
        response = await client.request(
            method, path, json=_fill(template, bad), headers=account.headers
        )
        assert 400 <= response.status_code < 500, (path, template, response.status_code)
        assert "error" in response.json()
    # Nothing changed: the account still works with its password, no tenant appeared.
    after = (await client.get("/api/v1/tenants", headers=account.headers)).json()
    assert after == before
    relogin = await client.post(
        "/api/v1/auth/login", json={"email": account.email, "password": PASSWORD}
    )
    assert relogin.status_code == 200


@pytest.mark.parametrize("bad", ["%00", "x" * 5000, "not-a-uuid"])
async def test_path_and_query_parameters_refuse_garbage(client, bad):
    account = await register(client)
    for path in (
        f"/api/v1/users/{bad}",
        f"/api/v1/tenants/{bad}",
        f"/api/v1/api-keys/{bad}",
        f"/api/v1/users?limit={bad}",
    ):
        response = await client.get(path, headers=account.headers)
        assert 400 <= response.status_code < 500, (path, response.status_code)


async def test_malformed_json_is_a_validation_error(client):
    response = await client.post(
        "/api/v1/auth/login",
        content=b'{"email": "a@example.com", "password": ',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 422
    invalid_utf8 = await client.post(
        "/api/v1/auth/login",
        content=b'{"email": "\xff\xfe@example.com", "password": "x"}',
        headers={"Content-Type": "application/json"},
    )
    assert 400 <= invalid_utf8.status_code < 500


async def test_body_over_the_limit_is_413(client):
    response = await client.post(
        "/api/v1/auth/register",
        content=b'{"email": "' + b"a" * (3 * 1024 * 1024) + b'"}',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"
