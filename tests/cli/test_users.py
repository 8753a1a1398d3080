"""``devgen user create``: the first account, straight into identity's database."""

from __future__ import annotations

import jwt

from tests.cli.conftest import assert_clean_failure, on_platform
from tests.helpers import PASSWORD


def _sign_in(workspace, email: str, password: str = PASSWORD) -> tuple[dict, dict]:
    """Sign in on the platform; returns the token's claims and ``/auth/me``."""

    async def sign_in(client):
        response = await client.post(
            "/api/v1/auth/login", json={"email": email, "password": password}
        )
        assert response.status_code == 200, response.text
        token = response.json()["data"]["access_token"]
        me = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
        return jwt.decode(token, options={"verify_signature": False}), me.json()["data"]

    return on_platform(workspace.settings(), sign_in)


def test_an_admin_created_from_the_command_line_can_sign_in_as_platform_admin(devgen, workspace):
    result = devgen(
        "user", "create", "--email", "root@example.com", "--password", PASSWORD, "--admin"
    )

    assert result.exit_code == 0, result.output
    assert "Created platform administrator root@example.com" in result.stdout
    claims, me = _sign_in(workspace, "root@example.com")
    assert claims["padm"] is True
    assert me["platform_admin"] is True
    assert me["role"] == "owner"


def test_a_plain_user_is_not_a_platform_admin(devgen, workspace):
    result = devgen("user", "create", "--email", "ada@example.com", "--password", PASSWORD)

    assert result.exit_code == 0, result.output
    claims, me = _sign_in(workspace, "ada@example.com")
    assert claims["padm"] is False
    assert me["platform_admin"] is False


def test_the_password_is_asked_for_twice_when_not_given(devgen, workspace):
    result = devgen(
        "user", "create", "--email", "ada@example.com", input=f"{PASSWORD}\n{PASSWORD}\n"
    )

    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output
    _sign_in(workspace, "ada@example.com")


def test_a_malformed_email_is_a_usage_error(devgen):
    result = devgen("user", "create", "--email", "not-an-email", "--password", PASSWORD)

    assert_clean_failure(result, 2, "email")


def test_a_short_password_is_a_usage_error(devgen):
    result = devgen("user", "create", "--email", "ada@example.com", "--password", "short")

    assert_clean_failure(result, 2, "password")


def test_an_email_already_registered_is_refused(devgen):
    devgen("user", "create", "--email", "ada@example.com", "--password", PASSWORD)

    result = devgen("user", "create", "--email", "ada@example.com", "--password", PASSWORD)

    assert_clean_failure(result, 1, "already exists")
