"""Who reads what: tenant admins their tenant, platform admins everything, others 403/404."""

from __future__ import annotations

import uuid

import pytest

from tests.helpers import assert_error, register
from tests.services.audit.conftest import platform_admin, service_headers, team, wait_for_record

READ_ENDPOINTS = [
    "/api/v1/audit/events",
    "/api/v1/audit/verify",
    "/api/v1/audit/export",
    "/api/v1/audit/report",
    "/api/v1/audit/checkpoints",
    "/api/v1/audit/retention",
    "/api/v1/audit/levels",
]


async def _write(client, headers, tenant_id: str | None, action: str, **fields) -> dict:
    body = {"action": action, "tenant_id": tenant_id, **fields}
    response = await client.post("/api/v1/audit/events", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()["data"]


@pytest.mark.parametrize("path", READ_ENDPOINTS)
async def test_members_viewers_and_api_keys_get_403(client, path):
    crew = await team(client, "member", "viewer")
    key = await client.post(
        "/api/v1/api-keys",
        json={"name": "k", "scopes": ["read", "admin"]},
        headers=crew.owner.headers,
    )
    key_headers = {"Authorization": f"Bearer {key.json()['data']['secret']}"}
    for headers in (crew.members["member"].headers, crew.members["viewer"].headers, key_headers):
        assert_error(await client.get(path, headers=headers), 403)
    assert_error(await client.get(path), 401)


@pytest.mark.parametrize("path", READ_ENDPOINTS)
async def test_naming_another_tenant_is_404_for_a_tenant_admin(client, path):
    crew, other = await team(client, "admin"), await team(client)
    admin = crew.members["admin"]
    ok = await client.get(path, params={"tenant_id": crew.tenant_id}, headers=admin.headers)
    assert ok.status_code == 200, ok.text
    denied = await client.get(path, params={"tenant_id": other.tenant_id}, headers=admin.headers)
    assert_error(denied, 404)


async def test_a_tenant_admin_sees_only_their_tenants_records(client, platform, settings):
    crew, other = await team(client, "admin"), await team(client)
    mine = await _write(
        client,
        await service_headers(client, settings, on_behalf=crew.owner),
        crew.tenant_id,
        "storage.file.read",
    )
    theirs = await _write(
        client,
        await service_headers(client, settings, on_behalf=other.owner),
        other.tenant_id,
        "storage.file.read",
    )
    await _write(client, await service_headers(client, settings), None, "storage.file.read")
    admin = crew.members["admin"]
    listed = await client.get(
        "/api/v1/audit/events", params={"action": "storage."}, headers=admin.headers
    )
    assert [r["id"] for r in listed.json()["data"]] == [mine["id"]]
    got = await client.get(f"/api/v1/audit/events/{mine['id']}", headers=admin.headers)
    assert got.json()["data"]["hash"] == mine["hash"]
    foreign = await client.get(f"/api/v1/audit/events/{theirs['id']}", headers=admin.headers)
    assert_error(foreign, 404)


async def test_a_platform_admin_sees_every_tenant_and_the_platform_chain(
    client, platform, settings
):
    crew = await team(client)
    service = await service_headers(client, settings, on_behalf=crew.owner)
    tenant_record = await _write(client, service, crew.tenant_id, "storage.file.read")
    platform_service = await service_headers(client, settings)
    platform_record = await _write(client, platform_service, None, "storage.file.read")
    root = await platform_admin(client, platform)
    everything = await client.get(
        "/api/v1/audit/events", params={"action": "storage.file"}, headers=root.headers
    )
    assert {r["id"] for r in everything.json()["data"]} == {
        tenant_record["id"],
        platform_record["id"],
    }
    one = await client.get(
        "/api/v1/audit/events",
        params={"action": "storage.file", "tenant_id": crew.tenant_id},
        headers=root.headers,
    )
    assert [r["id"] for r in one.json()["data"]] == [tenant_record["id"]]
    verified = await client.get("/api/v1/audit/verify", headers=root.headers)
    chains = {c["chain"] for c in verified.json()["data"]["chains"]}
    assert {crew.tenant_id, "platform"} <= chains


async def test_filters_and_cursor_pages(client, settings):
    crew = await team(client)
    service = await service_headers(client, settings, on_behalf=crew.owner)
    for number in range(5):
        await _write(
            client,
            service,
            crew.tenant_id,
            "storage.file.read" if number % 2 else "storage.file.failed",
            actor=f"user:{number % 2}",
            resource_id=f"file-{number}",
        )
    headers = crew.owner.headers

    async def ids(**params) -> list[str]:
        response = await client.get("/api/v1/audit/events", params=params, headers=headers)
        assert response.status_code == 200, response.text
        return [r["resource_id"] for r in response.json()["data"]]

    assert await ids(action="storage.file.failed") == ["file-4", "file-2", "file-0"]
    assert await ids(outcome="failure", actor="user:0") == ["file-4", "file-2", "file-0"]
    assert await ids(resource_id="file-3", resource_type="file") == ["file-3"]
    seen, cursor = [], None
    while True:
        params = {"limit": 2, "action": "storage."} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/api/v1/audit/events", params=params, headers=headers)).json()
        seen += [r["resource_id"] for r in page["data"]]
        cursor = page["metadata"]["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"file-{n}" for n in (4, 3, 2, 1, 0)]


async def test_bad_filters_are_422(client):
    account = await register(client)
    for params in (
        {"since": "2030-01-01T00:00:00"},
        {"since": "2030-01-02T00:00:00Z", "until": "2030-01-01T00:00:00Z"},
        {"outcome": "maybe"},
        {"cursor": "not-a-cursor"},
        {"action": "Identity Login"},
    ):
        response = await client.get("/api/v1/audit/events", params=params, headers=account.headers)
        assert_error(response, 422)


async def test_levels_are_validated_and_for_owners(client):
    crew = await team(client, "admin")
    bad = {"rules": [{"pattern": "a..b", "level": "full"}]}
    owner = crew.owner.headers
    assert_error(await client.put("/api/v1/audit/levels", json=bad, headers=owner), 422)
    good = {"rules": [{"pattern": "identity.#", "level": "summary"}]}
    admin = crew.members["admin"].headers
    assert_error(await client.put("/api/v1/audit/levels", json=good, headers=admin), 403)
    saved = await client.put("/api/v1/audit/levels", json=good, headers=owner)
    assert saved.json()["data"] == {"chain": crew.tenant_id, "rules": good["rules"]}


async def test_a_tenant_admin_reads_role_changes_of_their_tenant(client, platform):
    crew = await team(client, "viewer")
    viewer = crew.members["viewer"]
    await client.patch(
        f"/api/v1/tenants/{crew.tenant_id}/members/{viewer.user_id}",
        json={"role": "admin"},
        headers=crew.owner.headers,
    )
    await wait_for_record(platform, action="identity.member.role_changed")
    listed = await client.get(
        "/api/v1/audit/events",
        params={"action": "identity.member.role_changed"},
        headers=crew.owner.headers,
    )
    [record] = listed.json()["data"]
    assert (record["actor"], record["resource_id"], record["data"]["to"]) == (
        f"user:{crew.owner.user_id}",
        viewer.user_id,
        "admin",
    )
    assert uuid.UUID(record["tenant_id"]) == uuid.UUID(crew.tenant_id)
