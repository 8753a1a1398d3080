"""Who reaches which profile: only your own, by token; API keys within their scopes."""

from __future__ import annotations

import base64
import json
import uuid

import pytest

from devgen.kit.auth import Principal, PrincipalKind
from devgen.kit.errors import Forbidden
from devgen.services.profile.service import owner_id
from tests.helpers import Account, add_member, assert_error, login, register
from tests.services.profile.support import (
    AVATAR,
    ME,
    NOTIFICATIONS,
    api_key,
    image_bytes,
    put_avatar,
    upload,
)


def _requests():
    """Every profile operation as (method, path, request kwargs)."""
    return [
        ("GET", ME, {}),
        ("PATCH", ME, {"json": {"theme": "dark"}}),
        ("GET", NOTIFICATIONS, {}),
        ("PUT", NOTIFICATIONS, {"json": {"run_failed": {"channel": "none"}}}),
        ("PUT", AVATAR, {"files": upload(image_bytes("PNG", (8, 8)))}),
        ("GET", AVATAR, {}),
        ("DELETE", AVATAR, {}),
    ]


WRITES = [(m, p, kw) for m, p, kw in _requests() if m != "GET"]
READS = [(m, p, kw) for m, p, kw in _requests() if m == "GET"]


def _tampered(token: str, user_id: str) -> str:
    """``token`` with its subject swapped for ``user_id`` and the signature kept."""
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = user_id
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    return f"{header}.{forged}.{signature}"


async def test_every_operation_needs_a_credential(client):
    for method, path, kwargs in _requests():
        response = await client.request(method, path, **kwargs)
        assert_error(response, 401, "UNAUTHORIZED")
        assert response.headers["www-authenticate"].startswith("Bearer")


async def test_every_operation_refuses_a_bad_credential(client):
    for credential in ["nonsense", "a.b.c", "dgk_not-a-real-key", "x" * 9000]:
        for method, path, kwargs in _requests():
            response = await client.request(
                method, path, headers={"Authorization": f"Bearer {credential}"}, **kwargs
            )
            assert_error(response, 401, "UNAUTHORIZED")


async def test_a_token_rewritten_to_name_another_user_is_refused(client):
    victim = await register(client)
    attacker = await register(client)
    await client.patch(ME, json={"theme": "dark"}, headers=victim.headers)
    forged = _tampered(attacker.access_token, victim.user_id)
    response = await client.get(ME, headers={"Authorization": f"Bearer {forged}"})
    assert_error(response, 401, "UNAUTHORIZED")


async def test_people_only_ever_see_their_own_profile(client):
    alice = await register(client)
    bob = await register(client)
    await client.patch(ME, json={"theme": "dark", "language": "fr"}, headers=alice.headers)
    await client.put(NOTIFICATIONS, json={"run_failed": {"channel": "none"}}, headers=alice.headers)
    await put_avatar(client, alice, image_bytes("PNG", (20, 20)))

    bobs = (await client.get(ME, headers=bob.headers)).json()["data"]
    assert bobs["user_id"] == bob.user_id
    assert (bobs["theme"], bobs["language"], bobs["avatar"]) == ("system", "en", None)
    notifications = (await client.get(NOTIFICATIONS, headers=bob.headers)).json()["data"]
    assert notifications["run_failed"]["channel"] == "email"
    assert_error(await client.get(AVATAR, headers=bob.headers), 404, "NOT_FOUND")
    # Bob deleting "his" avatar leaves Alice's alone.
    await client.delete(AVATAR, headers=bob.headers)
    assert (await client.get(AVATAR, headers=alice.headers)).status_code == 200


async def test_no_route_takes_a_user_id(client):
    alice = await register(client)
    bob = await register(client)
    await put_avatar(client, alice, image_bytes("PNG", (20, 20)))
    for suffix in ["", "/avatar", "/notifications"]:
        path = f"/api/v1/profiles/{alice.user_id}{suffix}"
        assert_error(await client.get(path, headers=bob.headers), 404, "NOT_FOUND")


async def test_user_id_parameters_are_ignored(client):
    alice = await register(client)
    bob = await register(client)
    await client.patch(ME, json={"theme": "dark"}, headers=alice.headers)
    response = await client.get(ME, params={"user_id": alice.user_id}, headers=bob.headers)
    assert response.json()["data"]["user_id"] == bob.user_id
    assert response.json()["data"]["theme"] == "system"


async def test_a_read_only_api_key_reads_its_owners_profile(client):
    owner = await register(client)
    await client.patch(ME, json={"theme": "dark"}, headers=owner.headers)
    await put_avatar(client, owner, image_bytes("PNG", (20, 20)))
    key = await api_key(client, owner, "read")
    profile = await client.get(ME, headers=key)
    assert profile.status_code == 200, profile.text
    assert (profile.json()["data"]["user_id"], profile.json()["data"]["theme"]) == (
        owner.user_id,
        "dark",
    )
    assert (await client.get(NOTIFICATIONS, headers=key)).status_code == 200
    assert (await client.get(AVATAR, headers=key)).status_code == 200


async def test_a_read_only_api_key_cannot_change_anything(client):
    owner = await register(client)
    await put_avatar(client, owner, image_bytes("PNG", (20, 20)))
    before = (await client.get(ME, headers=owner.headers)).json()["data"]
    notifications = (await client.get(NOTIFICATIONS, headers=owner.headers)).json()["data"]
    key = await api_key(client, owner, "read")
    for method, path, kwargs in WRITES:
        response = await client.request(method, path, headers=key, **kwargs)
        error = assert_error(response, 403, "FORBIDDEN")
        assert "write" in error["message"]
    assert (await client.get(ME, headers=owner.headers)).json()["data"] == before
    assert (await client.get(NOTIFICATIONS, headers=owner.headers)).json()["data"] == notifications


async def test_a_write_only_api_key_cannot_read(client):
    owner = await register(client)
    key = await api_key(client, owner, "write")
    for method, path, kwargs in READS:
        error = assert_error(await client.request(method, path, headers=key, **kwargs), 403)
        assert "read" in error["message"]


async def test_an_api_key_with_write_changes_its_owners_profile(client):
    owner = await register(client)
    key = await api_key(client, owner, "read", "write")
    response = await client.patch(ME, json={"language": "es"}, headers=key)
    assert response.status_code == 200, response.text
    assert response.json()["data"]["user_id"] == owner.user_id
    uploaded = await put_avatar(client, key, image_bytes("PNG", (20, 20)))
    assert uploaded.status_code == 200, uploaded.text
    mine = (await client.get(ME, headers=owner.headers)).json()["data"]
    assert mine["language"] == "es"
    assert mine["avatar"] == uploaded.json()["data"]


async def test_a_viewer_still_owns_their_profile(client):
    owner = await register(client)
    viewer = await register(client)
    team = await client.post("/api/v1/tenants", json={"name": "Team"}, headers=owner.headers)
    team_id = team.json()["data"]["id"]
    switched = await client.post(
        "/api/v1/auth/switch-tenant", json={"tenant_id": team_id}, headers=owner.headers
    )
    tokens = switched.json()["data"]
    team_owner = Account(
        owner.email, owner.password, owner.user_id, team_id, tokens["access_token"], ""
    )
    await add_member(client, team_owner, viewer, "viewer")
    tokens = await login(client, viewer.email, tenant_id=team_id)
    as_viewer = {"Authorization": f"Bearer {tokens['access_token']}"}
    response = await client.patch(ME, json={"theme": "light"}, headers=as_viewer)
    assert response.status_code == 200, response.text
    assert response.json()["data"]["user_id"] == viewer.user_id


def _principal(kind: PrincipalKind, *, user_id: uuid.UUID | None, scopes: set[str]) -> Principal:
    return Principal(
        subject=uuid.uuid4(),
        kind=kind,
        tenant_id=uuid.uuid4(),
        user_id=user_id,
        scopes=frozenset(scopes),
    )


def test_service_credentials_have_no_profile():
    service = _principal(PrincipalKind.service, user_id=None, scopes={"read", "write"})
    with pytest.raises(Forbidden):
        owner_id(service, write=False)


def test_an_api_key_without_an_owner_has_no_profile():
    key = _principal(PrincipalKind.api_key, user_id=None, scopes={"read", "write"})
    with pytest.raises(Forbidden):
        owner_id(key, write=False)


def test_a_user_needs_no_scope_for_their_own_profile():
    user_id = uuid.uuid4()
    person = _principal(PrincipalKind.user, user_id=user_id, scopes=set())
    assert owner_id(person, write=True) == user_id
