"""The gateway sends each path to the service that owns it, and nothing else anywhere."""

from __future__ import annotations

import re

import pytest

from devgen.services.gateway.routes import ROUTES, owner_of, services_routed
from tests.helpers import assert_error, register
from tests.services.gateway.upstreams import echo_asgi

EVERY_PREFIX = [pytest.param(prefix, service, id=prefix) for prefix, service in ROUTES]


@pytest.mark.parametrize(("prefix", "service"), EVERY_PREFIX)
async def test_every_prefix_reaches_its_service(start, settings, prefix, service):
    upstreams = {name: echo_asgi(name) for name in services_routed()}
    client = await start(settings, upstreams=upstreams)

    response = await client.get(f"{prefix}/anything")

    assert response.status_code == 200, response.text
    assert response.json()["service"] == service
    assert response.json()["path"] == f"{prefix}/anything"


@pytest.mark.parametrize(
    "path",
    ["/api/v1/nothing-here", "/api/v1/usersettings", "/api/v2/auth/login", "/admin"],
)
async def test_a_path_no_service_owns_is_404_in_the_envelope(start, settings, path):
    upstreams = {name: echo_asgi(name) for name in services_routed()}
    client = await start(settings, upstreams=upstreams)

    response = await client.get(path)

    assert_error(response, 404, "NOT_FOUND")


async def test_a_service_that_is_not_deployed_is_404_naming_it(start, settings):
    client = await start(settings, upstreams={"identity": echo_asgi("identity")})

    response = await client.get("/api/v1/codegen/languages")

    error = assert_error(response, 404, "NOT_FOUND")
    assert error["details"] == {"service": "codegen"}


def test_prefixes_match_whole_segments_only():
    assert owner_of("/api/v1/users") == "identity"
    assert owner_of("/api/v1/users/42") == "identity"
    assert owner_of("/api/v1/usersettings") is None
    assert owner_of("/.well-known/jwks.json") == "identity"


async def test_the_platform_routes_to_identity_and_profile_for_real(client):
    account = await register(client)

    me = await client.get("/api/v1/auth/me", headers=account.headers)
    profile = await client.get("/api/v1/profiles/me", headers=account.headers)
    jwks = await client.get("/.well-known/jwks.json")

    assert me.status_code == 200, me.text
    assert profile.status_code == 200, profile.text
    assert jwks.status_code == 200
    assert jwks.json()["keys"]


async def test_in_process_services_see_the_client_address(start, settings):
    client = await start(settings, upstreams={"identity": echo_asgi("identity")})

    response = await client.get("/api/v1/auth/whoever")

    assert response.json()["client"][0] == "203.0.113.7"


def _requests_counted(metrics: str, service: str, route: str) -> float:
    pattern = re.compile(
        rf'^devgen_http_requests_total\{{[^}}]*route="{re.escape(route)}"[^}}]*'
        rf'service="{service}"[^}}]*status="401"\}} (\S+)$',
        re.MULTILINE,
    )
    return sum(float(value) for value in pattern.findall(metrics))


async def test_all_in_one_runs_the_chassis_once_per_request(client):
    # The in-process service's own middleware counts and logs the request; the
    # gateway hands it over without running a second copy of the same stack.
    before = (await client.get("/metrics")).text

    await client.get("/api/v1/auth/me")

    after = (await client.get("/metrics")).text
    identity = "/api/v1/auth/me"
    assert _requests_counted(after, "identity", identity) == (
        _requests_counted(before, "identity", identity) + 1
    )
    gateway = "/api/v1/{path:path}"
    assert _requests_counted(after, "gateway", gateway) == _requests_counted(
        before, "gateway", gateway
    )


async def test_all_in_one_applies_each_service_s_own_body_limit(client):
    response = await client.post("/api/v1/auth/register", content=b"x" * (3 * 1024 * 1024))

    error = assert_error(response, 413, "PAYLOAD_TOO_LARGE")
    assert error["details"] == {"max_bytes": 2 * 1024 * 1024}


async def test_services_do_not_see_the_gateway_s_routing_in_their_scope(start, settings):
    seen: dict = {}

    async def spy(scope, receive, send):
        seen.update(scope)
        await echo_asgi("identity")(scope, receive, send)

    client = await start(settings, upstreams={"identity": spy})

    await client.get("/api/v1/auth/me")

    assert "router" not in seen
    assert "route" not in seen
    assert seen["path"] == "/api/v1/auth/me"
