"""``GET/PATCH /api/v1/profiles/me``: defaults on first access, partial updates, strict input."""

from __future__ import annotations

import pytest

from tests.helpers import assert_error, login, register
from tests.services.profile.support import ME

DEFAULTS = {
    "theme": "system",
    "language": "en",
    "default_engine": "template",
    "default_programming_language": "python",
}


async def test_first_access_creates_a_profile_with_defaults(client):
    account = await register(client)
    response = await client.get(ME, headers=account.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["metadata"] == {}
    data = body["data"]
    assert data["user_id"] == account.user_id
    assert {k: data[k] for k in DEFAULTS} == DEFAULTS
    assert data["avatar"] is None
    assert data["created_at"].endswith("Z")


async def test_repeated_reads_return_the_same_profile(client):
    account = await register(client)
    first = (await client.get(ME, headers=account.headers)).json()["data"]
    second = (await client.get(ME, headers=account.headers)).json()["data"]
    assert first == second


async def test_patch_changes_only_the_fields_sent(client):
    account = await register(client)
    response = await client.patch(ME, json={"theme": "dark"}, headers=account.headers)
    assert response.status_code == 200, response.text
    assert response.json()["data"]["theme"] == "dark"
    response = await client.patch(
        ME, json={"language": "ja", "default_engine": "llm"}, headers=account.headers
    )
    data = response.json()["data"]
    assert (data["theme"], data["language"], data["default_engine"]) == ("dark", "ja", "llm")
    assert data["default_programming_language"] == "python"


async def test_patch_is_persisted(client):
    account = await register(client)
    await client.patch(ME, json={"theme": "light", "language": "de"}, headers=account.headers)
    data = (await client.get(ME, headers=account.headers)).json()["data"]
    assert (data["theme"], data["language"]) == ("light", "de")


async def test_patch_before_any_read_creates_the_profile(client):
    account = await register(client)
    response = await client.patch(ME, json={"language": "fr"}, headers=account.headers)
    assert response.status_code == 200, response.text
    assert response.json()["data"]["theme"] == "system"


async def test_empty_patch_changes_nothing(client):
    account = await register(client)
    before = (await client.get(ME, headers=account.headers)).json()["data"]
    response = await client.patch(ME, json={}, headers=account.headers)
    assert response.status_code == 200
    assert response.json()["data"] == before


async def test_every_supported_language_is_accepted(client):
    account = await register(client)
    for language in ["en", "fr", "de", "es", "it", "pt", "ja", "zh"]:
        response = await client.patch(ME, json={"language": language}, headers=account.headers)
        assert response.status_code == 200, response.text
        assert response.json()["data"]["language"] == language


OUTSIDE_THE_CHOICES = [
    ("theme", "blue"),
    ("theme", "DARK"),
    ("theme", 1),
    ("theme", ["dark"]),
    ("language", "en-US"),
    ("language", "xx"),
    ("language", "EN"),
    ("default_engine", "gpt"),
    ("default_programming_language", "cobol"),
]


@pytest.mark.parametrize("null", [False, True], ids=["wrong-value", "null"])
async def test_values_outside_the_choices_are_refused(client, null):
    account = await register(client)
    for field, value in OUTSIDE_THE_CHOICES:
        sent = None if null else value
        response = await client.patch(ME, json={field: sent}, headers=account.headers)
        error = assert_error(response, 422, "VALIDATION_ERROR")
        assert [e["location"] for e in error["details"]["errors"]] == [f"body.{field}"]
    data = (await client.get(ME, headers=account.headers)).json()["data"]
    assert {k: data[k] for k in DEFAULTS} == DEFAULTS


async def test_unknown_fields_are_refused_and_nothing_changes(client):
    account = await register(client)
    response = await client.patch(
        ME, json={"theme": "dark", "user_id": "x", "avatar": None}, headers=account.headers
    )
    error = assert_error(response, 422, "VALIDATION_ERROR")
    assert {e["location"] for e in error["details"]["errors"]} == {"body.user_id", "body.avatar"}
    assert (await client.get(ME, headers=account.headers)).json()["data"]["theme"] == "system"


async def test_a_body_that_is_not_an_object_is_refused(client):
    account = await register(client)
    for body in ['["theme"]', '"dark"', "{", "", "null"]:
        response = await client.patch(
            ME, content=body, headers={**account.headers, "Content-Type": "application/json"}
        )
        assert_error(response, 422, "VALIDATION_ERROR")


async def test_the_profile_follows_the_person_into_every_tenant(client):
    account = await register(client)
    created = await client.post("/api/v1/tenants", json={"name": "Team"}, headers=account.headers)
    assert created.status_code == 201, created.text
    team_tokens = await login(client, account.email, tenant_id=created.json()["data"]["id"])
    in_team = {"Authorization": f"Bearer {team_tokens['access_token']}"}
    await client.patch(ME, json={"theme": "dark"}, headers=in_team)
    data = (await client.get(ME, headers=account.headers)).json()["data"]
    assert (data["user_id"], data["theme"]) == (account.user_id, "dark")
