"""``X-Request-ID`` in and out: a valid id is kept end to end, anything else is replaced."""

from __future__ import annotations

import re

import pytest

from devgen.kit.settings import ServiceUrls
from tests.helpers import assert_error
from tests.services.gateway.conftest import with_settings
from tests.services.gateway.upstreams import EchoService, serving

GENERATED = re.compile(r"^[0-9a-f]{32}$")


async def test_a_response_carries_a_fresh_id_when_the_request_had_none(client):
    response = await client.get("/api/v1/auth/me")

    error = assert_error(response, 401)
    assert GENERATED.match(response.headers["X-Request-ID"])
    assert error["request_id"] == response.headers["X-Request-ID"]


@pytest.mark.parametrize("request_id", ["req-42", "a.b:c_d-1", "x" * 128])
async def test_a_valid_incoming_id_is_kept_and_reaches_the_service(client, request_id):
    response = await client.get("/api/v1/auth/me", headers={"X-Request-ID": request_id})

    assert response.headers["X-Request-ID"] == request_id
    # The error envelope is rendered by identity, behind the gateway: it saw the same id.
    assert response.json()["error"]["request_id"] == request_id


@pytest.mark.parametrize(
    "request_id", ["", "has spaces", "semi;colon", "x" * 129, "<script>", "ünïcode"]
)
async def test_an_invalid_incoming_id_is_replaced(client, request_id):
    response = await client.get(
        "/api/v1/auth/me", headers={"X-Request-ID": request_id.encode("utf-8")}
    )

    assert response.headers["X-Request-ID"] != request_id
    assert GENERATED.match(response.headers["X-Request-ID"])
    assert response.json()["error"]["request_id"] == response.headers["X-Request-ID"]


async def test_gateway_errors_carry_the_id_too(client):
    response = await client.get("/api/v1/nothing-here", headers={"X-Request-ID": "req-404"})

    error = assert_error(response, 404, "NOT_FOUND")
    assert error["request_id"] == "req-404"
    assert response.headers["X-Request-ID"] == "req-404"


async def test_the_proxy_sends_the_id_upstream_and_back(start, settings):
    async with serving(EchoService("codegen").app) as url:
        client = await start(with_settings(settings, urls=ServiceUrls(codegen_url=url)), alone=True)

        kept = await client.get("/api/v1/codegen/echo", headers={"X-Request-ID": "req-7"})
        replaced = await client.get("/api/v1/codegen/echo", headers={"X-Request-ID": "bad id"})

    assert ["x-request-id", "req-7"] in kept.json()["headers"]
    assert kept.headers["X-Request-ID"] == "req-7"
    sent = dict(replaced.json()["headers"])["x-request-id"]
    assert GENERATED.match(sent)
    assert replaced.headers["X-Request-ID"] == sent
