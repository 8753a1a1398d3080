"""Service credentials acting on behalf of a run's user (identity and the chassis helper)."""

from __future__ import annotations

import uuid

import jwt
import pytest

from devgen.kit.auth import PrincipalKind
from devgen.kit.auth.service import SERVICE_TOKEN_PATH
from tests.helpers import TEST_SERVICE_SECRET, assert_error, register, service_app_client


@pytest.fixture
def platform_services() -> tuple[str, ...]:
    """Identity issues the tokens; storage shows how a target service sees them."""
    return ("identity", "storage")


async def _token(platform, **extra):
    async with service_app_client(platform, "identity") as identity:
        return await identity.post(
            SERVICE_TOKEN_PATH,
            json={"service": "orchestrator", "secret": TEST_SERVICE_SECRET, **extra},
        )


async def test_a_service_token_on_behalf_of_a_member_carries_their_tenant_and_role(
    client, platform
):
    user = await register(client)
    response = await _token(platform, tenant_id=user.tenant_id, user_id=user.user_id)
    assert response.status_code == 200, response.text
    token = response.json()["data"]["access_token"]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert (claims["knd"], claims["svc"], claims["tid"], claims["uid"]) == (
        "service",
        "orchestrator",
        user.tenant_id,
        user.user_id,
    )
    storage = platform.state.upstream_apps["storage"]
    principal = await storage.state.authenticator.authenticate(token)
    assert principal.kind is PrincipalKind.service
    assert principal.service == "orchestrator"
    assert (str(principal.tenant_id), str(principal.user_id)) == (user.tenant_id, user.user_id)
    assert principal.roles == {"owner"}
    assert {"read", "write", "admin", "service"} <= principal.scopes


async def test_a_target_service_treats_it_as_the_user_in_their_tenant(client, platform):
    user = await register(client)
    token = (await _token(platform, tenant_id=user.tenant_id, user_id=user.user_id)).json()["data"][
        "access_token"
    ]
    stored = await client.post(
        "/api/v1/artifacts",
        json={"name": "made-for-the-user", "files": {"a.txt": "a\n"}},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert stored.status_code == 201, stored.text
    assert stored.json()["data"]["owner_id"] == user.user_id
    mine = await client.get("/api/v1/artifacts", headers=user.headers)
    assert [a["name"] for a in mine.json()["data"]] == ["made-for-the-user"]
    other = await register(client)
    theirs = await client.get("/api/v1/artifacts", headers=other.headers)
    assert theirs.json()["data"] == []


async def test_no_token_acts_for_someone_outside_the_tenant(client, platform):
    user = await register(client)
    stranger = await register(client)
    response = await _token(platform, tenant_id=user.tenant_id, user_id=stranger.user_id)
    assert_error(response, 403)


async def test_tenant_and_user_go_together(client, platform):
    response = await _token(platform, tenant_id=str(uuid.uuid4()))
    assert_error(response, 422)


async def test_the_chassis_helper_caches_one_token_per_user(client, platform):
    user = await register(client)
    other = await register(client)
    orchestrator_like = platform.state.upstream_apps["storage"].state.service_credentials
    first = await orchestrator_like.token(uuid.UUID(user.tenant_id), uuid.UUID(user.user_id))
    again = await orchestrator_like.token(uuid.UUID(user.tenant_id), uuid.UUID(user.user_id))
    theirs = await orchestrator_like.token(uuid.UUID(other.tenant_id), uuid.UUID(other.user_id))
    plain = await orchestrator_like.token()
    assert first == again
    assert len({first, theirs, plain}) == 3
    assert "uid" not in jwt.decode(plain, options={"verify_signature": False})
    tenant, user_id = uuid.UUID(user.tenant_id), uuid.UUID(user.user_id)
    orchestrator_like.forget(tenant, user_id)
    assert await orchestrator_like.token(tenant, user_id) != first
