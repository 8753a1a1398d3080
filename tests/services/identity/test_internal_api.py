"""Service tokens and introspection: for the platform's services, never for the outside."""

from __future__ import annotations

import uuid

import jwt
import pytest

from devgen.kit.auth.remote import VALIDATE_PATH
from devgen.kit.auth.service import SERVICE_TOKEN_PATH
from tests.helpers import (
    TEST_SERVICE_SECRET,
    assert_error,
    introspect,
    register,
    service_app_client,
    service_token,
)

_OLD_PUBLIC_PATHS = ("/api/v1/auth/service-token", "/api/v1/auth/validate")


@pytest.mark.parametrize("path", [SERVICE_TOKEN_PATH, VALIDATE_PATH, *_OLD_PUBLIC_PATHS])
async def test_the_gateway_never_routes_the_internal_endpoints(client, path):
    victim = await register(client)
    body = {
        "service": "audit",
        "secret": TEST_SERVICE_SECRET,  # even with the right secret
        "tenant_id": victim.tenant_id,
        "user_id": victim.user_id,
        "token": victim.access_token,
    }
    response = await client.post(path, json=body)
    assert_error(response, 404)
    assert "access_token" not in response.text


async def test_a_service_gets_a_short_lived_service_token_with_the_shared_secret(platform):
    async with service_app_client(platform, "identity") as identity:
        response = await identity.post(
            SERVICE_TOKEN_PATH, json={"service": "audit", "secret": TEST_SERVICE_SECRET}
        )
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["expires_in"] == 300
    claims = jwt.decode(data["access_token"], options={"verify_signature": False})
    assert (claims["knd"], claims["svc"], claims["typ"]) == ("service", "audit", "access")
    assert "tid" not in claims
    assert (await introspect(platform, data["access_token"])).json()["data"]["kind"] == "service"


async def test_a_wrong_service_secret_gets_401(platform):
    async with service_app_client(platform, "identity") as identity:
        response = await identity.post(
            SERVICE_TOKEN_PATH, json={"service": "audit", "secret": "not-the-secret"}
        )
    assert_error(response, 401)


async def test_a_service_token_is_not_a_user_session(client, platform):
    token = await service_token(platform, "x")
    me = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert_error(me, 401)
    assert uuid.UUID(jwt.decode(token, options={"verify_signature": False})["sub"])


async def test_introspection_needs_a_service_token(client, platform):
    victim = await register(client)
    async with service_app_client(platform, "identity") as identity:
        anonymous = await identity.post(VALIDATE_PATH, json={"token": victim.access_token})
        as_a_user = await identity.post(
            VALIDATE_PATH, json={"token": victim.access_token}, headers=victim.headers
        )
    assert_error(anonymous, 401)
    assert_error(as_a_user, 403)
    assert victim.user_id not in anonymous.text + as_a_user.text
    answered = await introspect(platform, victim.access_token)
    assert answered.json()["data"]["user_id"] == victim.user_id
