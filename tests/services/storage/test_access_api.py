"""Who reaches what: viewers read, members write, owners and admins delete, tenants are apart."""

from __future__ import annotations

import uuid

from tests.helpers import assert_error, register
from tests.services.storage.support import (
    ARTIFACTS,
    FILES,
    api_key,
    put_file,
    stored,
    team,
    upload,
)

PROJECT = {"files": {"main.py": "print('hi')\n"}}


def _operations(file_id: str, artifact_id: str) -> list[tuple[str, str, dict]]:
    """Every storage operation as (method, path, request kwargs)."""
    return [
        ("POST", FILES, upload(b"data")),
        ("GET", FILES, {}),
        ("GET", f"{FILES}/{file_id}", {}),
        ("GET", f"{FILES}/{file_id}/content", {}),
        ("HEAD", f"{FILES}/{file_id}/content", {}),
        ("DELETE", f"{FILES}/{file_id}", {}),
        ("POST", ARTIFACTS, {"json": PROJECT}),
        ("GET", ARTIFACTS, {}),
        ("GET", f"{ARTIFACTS}/{artifact_id}", {}),
        ("GET", f"{ARTIFACTS}/{artifact_id}/download", {}),
        ("GET", f"{ARTIFACTS}/{artifact_id}/files/main.py", {}),
        ("DELETE", f"{ARTIFACTS}/{artifact_id}", {}),
    ]


async def _artifact(client, headers) -> dict:
    response = await client.post(ARTIFACTS, json=PROJECT, headers=headers)
    assert response.status_code == 201, response.text
    body: dict = response.json()["data"]
    return body


async def test_every_operation_needs_a_credential(client):
    for method, path, kwargs in _operations(str(uuid.uuid4()), str(uuid.uuid4())):
        response = await client.request(method, path, **kwargs)
        assert response.status_code == 401, (method, path)
        assert response.headers["www-authenticate"].startswith("Bearer")
        if method != "HEAD":
            assert_error(response, 401, "UNAUTHORIZED")
    bad = {"Authorization": "Bearer dgk_not-a-real-key"}
    assert_error(await client.get(FILES, headers=bad), 401)


async def test_viewers_read_but_do_not_write_or_delete(client):
    people = await team(client, "viewer")
    owner, viewer = people["owner"], people["viewer"]
    file = await stored(client, owner, b"shared")
    artifact = await _artifact(client, owner.headers)
    for method, path, kwargs in _operations(file["id"], artifact["id"]):
        response = await client.request(method, path, headers=viewer.headers, **kwargs)
        if method in {"GET", "HEAD"}:
            assert response.status_code == 200, (method, path, response.text)
        else:
            assert_error(response, 403, "FORBIDDEN")


async def test_members_write_and_delete_only_what_they_stored(client):
    people = await team(client, "member")
    owner, member = people["owner"], people["member"]
    owners_file = await stored(client, owner, b"owner's")
    owners_artifact = await _artifact(client, owner.headers)
    for path in (f"{FILES}/{owners_file['id']}", f"{ARTIFACTS}/{owners_artifact['id']}"):
        assert_error(await client.delete(path, headers=member.headers), 403, "FORBIDDEN")
    mine = await stored(client, member, b"member's")
    my_artifact = await _artifact(client, member.headers)
    for path in (f"{FILES}/{mine['id']}", f"{ARTIFACTS}/{my_artifact['id']}"):
        assert (await client.delete(path, headers=member.headers)).status_code == 204


async def test_admins_delete_what_others_stored(client):
    people = await team(client, "admin", "member")
    theirs = await stored(client, people["member"], b"member's")
    artifact = await _artifact(client, people["member"].headers)
    for path in (f"{FILES}/{theirs['id']}", f"{ARTIFACTS}/{artifact['id']}"):
        assert (await client.delete(path, headers=people["admin"].headers)).status_code == 204


async def test_api_keys_act_within_their_scopes(client):
    account = await register(client)
    for scopes, can_read, can_write in [
        (("read",), True, False),
        (("read", "write"), True, True),
        (("write",), False, True),
    ]:
        key = await api_key(client, account, *scopes)
        file = await stored(client, account, b"data")
        read = await client.get(file["content_url"], headers=key)
        assert read.status_code == (200 if can_read else 403), scopes
        written = await put_file(client, key, b"by key")
        assert written.status_code == (201 if can_write else 403), scopes
        if can_write:
            # A key acts for its owner, so it may delete what its owner stored.
            deleted = await client.delete(f"{FILES}/{file['id']}", headers=key)
            assert deleted.status_code == 204
            assert written.json()["data"]["owner_id"] == account.user_id


async def test_another_tenants_items_are_not_found(client, blobs):
    owner, stranger = await register(client), await register(client)
    file = await stored(client, owner, b"private")
    artifact = await _artifact(client, owner.headers)
    for method, path, kwargs in _operations(file["id"], artifact["id"]):
        if method == "POST" or path in {FILES, ARTIFACTS}:
            continue
        response = await client.request(method, path, headers=stranger.headers, **kwargs)
        assert response.status_code == 404, (method, path)
    for path in (FILES, ARTIFACTS):
        assert (await client.get(path, headers=stranger.headers)).json()["data"] == []
    # Still there for the owner, content included.
    assert (await client.get(file["content_url"], headers=owner.headers)).content == b"private"
    assert blobs.count() == 2
