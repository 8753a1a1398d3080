"""``devgen keys rotate``: a new signing key, with the old one still published."""

from __future__ import annotations

import re

import jwt

from tests.cli.conftest import on_platform


def _published_kids(workspace) -> list[str]:
    async def jwks(client):
        response = await client.get("/.well-known/jwks.json")
        assert response.status_code == 200, response.text
        return [key["kid"] for key in response.json()["keys"]]

    return on_platform(workspace.settings(), jwks)


def test_rotate_publishes_a_second_key_beside_the_first(devgen, workspace):
    first = _published_kids(workspace)

    result = devgen("keys", "rotate")

    assert result.exit_code == 0, result.output
    fresh = re.search(r"New signing key (\S+)", result.stdout).group(1)
    published = _published_kids(workspace)
    assert len(first) == 1
    assert sorted(published) == sorted([*first, fresh])
    assert "Published keys (2)" in result.stdout


def test_rotate_on_a_fresh_directory_creates_the_database_first(devgen, workspace):
    result = devgen("keys", "rotate")

    assert result.exit_code == 0, result.output
    assert (workspace.data_dir / "identity.db").is_file()
    assert len(_published_kids(workspace)) == 2


def test_tokens_are_signed_with_the_new_key_after_rotation(devgen, workspace):
    result = devgen("keys", "rotate")
    fresh = re.search(r"New signing key (\S+)", result.stdout).group(1)

    async def sign_in(client):
        account = {"email": "ada@example.com", "password": "correct horse battery"}
        assert (await client.post("/api/v1/auth/register", json=account)).status_code == 201
        response = await client.post("/api/v1/auth/login", json=account)
        return response.json()["data"]["access_token"]

    token = on_platform(workspace.settings(), sign_in)

    assert jwt.get_unverified_header(token)["kid"] == fresh
