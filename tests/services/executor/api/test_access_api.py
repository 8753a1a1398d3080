"""Who may do what: 401 without a credential, roles and scopes, 404 across tenants."""

from __future__ import annotations

import httpx

from tests.helpers import Account, add_member, assert_error, login, register
from tests.services.executor.api.conftest import Execute

ENTRY = {"files": {"main.py": "print(1)"}, "entry": "main.py", "wait": True}


async def _member(client: httpx.AsyncClient, owner: Account, role: str) -> Account:
    """A new user added to the owner's tenant with ``role``, signed in there."""
    other = await register(client)
    await add_member(client, owner, other, role)
    tokens = await login(client, other.email, tenant_id=owner.tenant_id)
    other.access_token, other.tenant_id = tokens["access_token"], owner.tenant_id
    return other


async def _api_key(client: httpx.AsyncClient, owner: Account, scopes: list[str]) -> dict[str, str]:
    created = await client.post(
        "/api/v1/api-keys", json={"name": "ci", "scopes": scopes}, headers=owner.headers
    )
    assert created.status_code == 201, created.text
    return {"Authorization": f"Bearer {created.json()['data']['secret']}"}


ENDPOINTS = [
    ("POST", "/api/v1/execute"),
    ("GET", "/api/v1/executions"),
    ("GET", "/api/v1/executions/00000000-0000-4000-8000-000000000000"),
    ("GET", "/api/v1/executions/00000000-0000-4000-8000-000000000000/logs"),
    ("POST", "/api/v1/executions/00000000-0000-4000-8000-000000000000/cancel"),
    ("GET", "/api/v1/environments"),
    ("POST", "/api/v1/environments"),
    ("GET", "/api/v1/environments/python-service"),
    ("GET", "/api/v1/environments/python-service/logs"),
    ("GET", "/api/v1/runtimes"),
]


async def test_every_endpoint_needs_a_credential(client: httpx.AsyncClient) -> None:
    for method, path in ENDPOINTS:
        response = await client.request(method, path, json={} if method == "POST" else None)

        assert_error(response, 401, "UNAUTHORIZED")


async def test_a_viewer_reads_but_cannot_execute(
    client: httpx.AsyncClient, owner: Account, execute: Execute
) -> None:
    created = (await execute(**ENTRY)).json()["data"]
    viewer = await _member(client, owner, "viewer")

    assert_error(await execute(account=viewer, **ENTRY), 403, "FORBIDDEN")
    read = await client.get(f"/api/v1/executions/{created['id']}", headers=viewer.headers)
    assert read.status_code == 200
    assert read.json()["data"]["result"]["stdout"] == "1\n"
    cancel = await client.post(f"/api/v1/executions/{created['id']}/cancel", headers=viewer.headers)
    assert_error(cancel, 403, "FORBIDDEN")
    assert_error(
        await client.post("/api/v1/environments", json={"packages": []}, headers=viewer.headers),
        403,
    )


async def test_a_member_executes(
    client: httpx.AsyncClient, owner: Account, execute: Execute
) -> None:
    member = await _member(client, owner, "member")

    response = await execute(account=member, **ENTRY)

    assert response.status_code == 200
    assert response.json()["data"]["created_by"] == f"user:{member.user_id}"


async def test_api_keys_execute_with_write_and_only_read_with_read(
    client: httpx.AsyncClient, owner: Account
) -> None:
    writer = await _api_key(client, owner, ["read", "write"])
    reader = await _api_key(client, owner, ["read"])

    executed = await client.post("/api/v1/execute", json=ENTRY, headers=writer)
    refused = await client.post("/api/v1/execute", json=ENTRY, headers=reader)
    listed = await client.get("/api/v1/executions", headers=reader)

    assert executed.status_code == 200, executed.text
    assert executed.json()["data"]["created_by"].startswith("api_key:")
    assert_error(refused, 403, "FORBIDDEN")
    assert [e["id"] for e in listed.json()["data"]] == [executed.json()["data"]["id"]]


async def test_another_tenants_execution_is_404_everywhere(
    client: httpx.AsyncClient, owner: Account, execute: Execute
) -> None:
    execution_id = (await execute(**ENTRY)).json()["data"]["id"]
    stranger = await register(client)

    for method, path in [
        ("GET", f"/api/v1/executions/{execution_id}"),
        ("GET", f"/api/v1/executions/{execution_id}/logs"),
        ("POST", f"/api/v1/executions/{execution_id}/cancel"),
    ]:
        response = await client.request(method, path, headers=stranger.headers)
        assert_error(response, 404, "NOT_FOUND")
    listed = await client.get("/api/v1/executions", headers=stranger.headers)
    assert listed.json()["data"] == []


async def test_another_tenants_environment_is_404(
    client: httpx.AsyncClient, owner: Account
) -> None:
    created = await client.post(
        "/api/v1/environments", json={"packages": []}, headers=owner.headers
    )
    environment_id = created.json()["data"]["id"]
    stranger = await register(client)

    for path in (
        f"/api/v1/environments/{environment_id}",
        f"/api/v1/environments/{environment_id}/logs",
    ):
        assert_error(await client.get(path, headers=stranger.headers), 404, "NOT_FOUND")
    response = await client.post(
        "/api/v1/execute",
        json={**ENTRY, "environment": environment_id},
        headers=stranger.headers,
    )
    assert_error(response, 404, "NOT_FOUND")
