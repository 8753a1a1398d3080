"""The gateway alone: the streaming HTTP proxy to services in other processes."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from devgen.kit.app import create_app
from devgen.kit.settings import HttpSettings, ServiceUrls
from devgen.runtime.registry import load_definition
from tests.helpers import EVENTUALLY_SECONDS, assert_error, register
from tests.runtime.processes import DevgenProcess, devgen, free_port, isolated_env
from tests.services.gateway.conftest import with_settings
from tests.services.gateway.upstreams import EchoService, serving, silent_listener


@pytest.fixture
async def echo(start, settings):
    """A gateway alone in front of a real HTTP stand-in for codegen; yields (client, service)."""
    service = EchoService("codegen")
    async with serving(service.app) as url:
        client = await start(with_settings(settings, urls=ServiceUrls(codegen_url=url)), alone=True)
        yield client, service


def _headers(body: dict) -> dict[str, list[str]]:
    collected: dict[str, list[str]] = {}
    for key, value in body["headers"]:
        collected.setdefault(key, []).append(value)
    return collected


async def test_method_path_query_and_body_reach_the_service_unchanged(echo):
    client, _ = echo
    body = os.urandom(1_500_000)

    response = await client.put(
        "/api/v1/codegen/a%2Fb/c?x=1&y=%20z",
        content=body,
        headers={"Content-Type": "application/octet-stream"},
    )

    assert response.status_code == 200, response.text
    seen = response.json()
    assert seen["method"] == "PUT"
    assert seen["raw_path"] == "/api/v1/codegen/a%2Fb/c"
    assert seen["query"] == "x=1&y=%20z"
    assert seen["body_length"] == len(body)
    assert seen["body_sha256"] == hashlib.sha256(body).hexdigest()


async def test_a_body_larger_than_the_chassis_limit_is_the_service_s_to_refuse(echo):
    # The gateway imposes no limit of its own: storage, say, takes large uploads.
    client, _ = echo
    body = b"x" * (3 * 1024 * 1024)

    response = await client.post("/api/v1/codegen/upload", content=body)

    assert response.status_code == 200
    assert response.json()["body_length"] == len(body)


async def test_the_credential_is_passed_through(echo):
    client, _ = echo

    response = await client.get("/api/v1/codegen/me", headers={"Authorization": "Bearer abc"})

    assert _headers(response.json())["authorization"] == ["Bearer abc"]


async def test_the_service_learns_who_the_client_is(echo):
    client, _ = echo

    response = await client.get(
        "/api/v1/codegen/who", headers={"X-Forwarded-For": "10.0.0.1", "Host": "api.example.com"}
    )

    headers = _headers(response.json())
    # The client is not a trusted proxy: its own X-Forwarded-For is not believed.
    assert headers["x-forwarded-for"] == ["203.0.113.7"]
    assert headers["x-forwarded-proto"] == ["http"]
    assert headers["x-forwarded-host"] == ["api.example.com"]


async def test_a_trusted_proxy_s_chain_is_extended(start, settings):
    async with serving(EchoService("codegen").app) as url:
        trusting = with_settings(
            settings,
            urls=ServiceUrls(codegen_url=url),
            http=HttpSettings(trusted_proxies=["203.0.113.7"]),
        )
        client = await start(trusting, alone=True)

        response = await client.get(
            "/api/v1/codegen/who",
            headers={"X-Forwarded-For": "198.51.100.9", "X-Forwarded-Proto": "https"},
        )

    headers = _headers(response.json())
    assert headers["x-forwarded-for"] == ["198.51.100.9, 203.0.113.7"]
    assert headers["x-forwarded-proto"] == ["https"]


async def test_hop_by_hop_headers_are_dropped_and_repeated_headers_kept(echo):
    client, _ = echo

    response = await client.get("/api/v1/codegen/cookies", headers={"Connection": "x-secret"})

    assert response.headers.get_list("set-cookie") == ["a=1; Path=/", "b=2; Path=/"]
    assert "x-hop" not in response.headers
    assert "keep-alive" not in response.headers
    assert response.text == "ok"


async def test_a_hop_by_hop_request_header_never_reaches_the_service(echo):
    client, _ = echo

    response = await client.get(
        "/api/v1/codegen/echo", headers={"Connection": "x-secret", "X-Secret": "1", "TE": "gzip"}
    )

    headers = _headers(response.json())
    assert "x-secret" not in headers
    assert "te" not in headers


async def test_a_stream_is_passed_on_chunk_by_chunk(settings):
    service = EchoService("codegen")
    async with serving(service.app) as upstream_url:
        gateway = create_app(
            load_definition("gateway"),
            with_settings(settings, urls=ServiceUrls(codegen_url=upstream_url)),
        )
        async with (
            serving(gateway) as gateway_url,
            httpx.AsyncClient() as client,
            client.stream("GET", f"{gateway_url}/api/v1/codegen/stream") as response,
        ):
            chunks = response.aiter_raw()
            first = await asyncio.wait_for(anext(chunks), EVENTUALLY_SECONDS)
            # The service holds the second event until the first has arrived here.
            service.release_stream.set()
            rest = b"".join([chunk async for chunk in chunks])

    assert response.headers["content-type"].startswith("text/event-stream")
    assert first == b"data: first\n\n"
    assert rest == b"data: second\n\n"


async def test_an_unreachable_service_is_502_in_the_envelope(start, settings):
    down = f"http://127.0.0.1:{free_port()}"
    client = await start(with_settings(settings, urls=ServiceUrls(identity_url=down)), alone=True)

    response = await client.get("/api/v1/auth/me", headers={"X-Request-ID": "req-502"})

    error = assert_error(response, 502, "BAD_GATEWAY")
    assert error["details"] == {"service": "identity"}
    assert error["request_id"] == "req-502"


async def test_a_service_that_does_not_answer_in_time_is_504(start, settings, monkeypatch):
    monkeypatch.setenv("DEVGEN_GATEWAY_UPSTREAM_TIMEOUT_SECONDS", "0.3")
    async with silent_listener() as url:
        client = await start(with_settings(settings, urls=ServiceUrls(profile_url=url)), alone=True)

        response = await client.get("/api/v1/profiles/me")

    error = assert_error(response, 504, "GATEWAY_TIMEOUT")
    assert error["details"] == {"service": "profile"}


@pytest.fixture(scope="module")
def identity_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevgenProcess]:
    """``devgen serve identity`` in a process of its own, on SQLite in a temporary directory."""
    workdir: Path = tmp_path_factory.mktemp("identity")
    with devgen(
        "serve", "identity", env=isolated_env(workdir / "data"), workdir=workdir
    ) as running:
        yield running


async def test_a_real_identity_process_works_through_the_gateway(start, settings, identity_process):
    urls = ServiceUrls(identity_url=identity_process.url)
    client = await start(with_settings(settings, urls=urls), alone=True)

    account = await register(client)
    me = await client.get("/api/v1/auth/me", headers=account.headers)
    jwks = await client.get("/.well-known/jwks.json")
    health = (await client.get("/health")).json()

    assert me.status_code == 200, me.text
    assert me.json()["data"]["user"]["email"] == account.email
    assert jwks.status_code == 200
    assert jwks.json()["keys"][0]["alg"] == "EdDSA"
    assert health["dependencies"]["identity"]["status"] == "ok"


async def test_a_real_service_s_body_limit_applies_through_the_gateway(
    start, settings, identity_process
):
    urls = ServiceUrls(identity_url=identity_process.url)
    client = await start(with_settings(settings, urls=urls), alone=True)

    response = await client.post("/api/v1/auth/register", content=b"x" * (3 * 1024 * 1024))

    assert_error(response, 413, "PAYLOAD_TOO_LARGE")


async def test_a_real_service_s_errors_pass_through_unchanged(start, settings, identity_process):
    urls = ServiceUrls(identity_url=identity_process.url)
    client = await start(with_settings(settings, urls=urls), alone=True)

    response = await client.post("/api/v1/auth/login", json={"email": "nobody"})

    error = assert_error(response, 422, "VALIDATION_ERROR")
    assert error["request_id"] == response.headers["X-Request-ID"]
