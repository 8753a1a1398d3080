"""Rate limits per credential and per client address, in memory and in the real Redis."""

from __future__ import annotations

import pytest

from devgen.kit.settings import HttpSettings, RateLimitSettings
from devgen.services.gateway.routes import services_routed
from tests.helpers import assert_error, register
from tests.runtime.processes import free_port
from tests.services.gateway.conftest import limits, with_settings
from tests.services.gateway.upstreams import echo_asgi

PATH = "/api/v1/profiles/me"


def _echoes() -> dict:
    return {name: echo_asgi(name) for name in services_routed()}


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_rate_limited(response, scope: str) -> dict:
    """A 429 in the error envelope, with a usable ``Retry-After``; returns the error."""
    error = assert_error(response, 429, "RATE_LIMITED")
    retry_after = int(response.headers["Retry-After"])
    assert 1 <= retry_after <= 60
    assert error["details"]["retry_after_seconds"] == retry_after
    assert error["details"]["scope"] == scope
    assert error["request_id"] == response.headers["X-Request-ID"]
    return error


async def test_a_token_past_its_limit_gets_429_while_other_tokens_pass(
    start, settings, rate_limit_store
):
    rates = limits(rate_limit_store, rate_limit_per_token="3/minute")
    client = await start(with_settings(settings, rate_limit=rates))
    ada, bob = await register(client), await register(client)

    allowed = [(await client.get(PATH, headers=ada.headers)).status_code for _ in range(3)]
    refused = await client.get(PATH, headers=ada.headers)
    other_token = await client.get(PATH, headers=bob.headers)

    assert allowed == [200, 200, 200]
    error = assert_rate_limited(refused, "token")
    assert error["details"]["limit"] == "3 per 1 minute"
    assert other_token.status_code == 200


async def test_made_up_bearers_are_counted_by_address(start, settings, rate_limit_store):
    rates = limits(rate_limit_store, rate_limit_per_address="3/minute")
    client = await start(with_settings(settings, rate_limit=rates))

    statuses = [
        (await client.get(PATH, headers=_bearer(f"x{attempt}"))).status_code for attempt in range(3)
    ]
    refused = await client.get(PATH, headers=_bearer("x3"))
    made_up_api_key = await client.get(PATH, headers=_bearer("dgk_" + "0" * 40))

    assert statuses == [401, 401, 401]
    assert_rate_limited(refused, "address")
    assert_rate_limited(made_up_api_key, "address")


async def test_an_address_past_its_limit_gets_429_while_other_addresses_pass(
    launch, connect, settings, rate_limit_store
):
    rates = limits(rate_limit_store, rate_limit_per_address="2/minute")
    app = await launch(with_settings(settings, rate_limit=rates), upstreams=_echoes())
    first = await connect(app, ("198.51.100.1", 40000))
    second = await connect(app, ("198.51.100.2", 40000))

    allowed = [(await first.get(PATH)).status_code for _ in range(2)]
    refused = await first.get(PATH)
    other_address = await second.get(PATH)

    assert allowed == [200, 200]
    assert_rate_limited(refused, "address")
    assert other_address.status_code == 200


async def test_a_token_is_counted_apart_from_its_address(start, settings, rate_limit_store):
    rates = limits(rate_limit_store, rate_limit_per_address="1/minute")
    client = await start(with_settings(settings, rate_limit=rates))
    account = await register(client)  # registering is counted under the auth limit

    anonymous = [(await client.get(PATH)).status_code for _ in range(2)]
    with_token = await client.get(PATH, headers=account.headers)

    assert anonymous == [401, 429]
    assert with_token.status_code == 200


@pytest.mark.parametrize("path", ["/api/v1/auth/login", "/api/v1/auth/register"])
async def test_login_and_register_have_the_stricter_limit(start, settings, rate_limit_store, path):
    rates = limits(rate_limit_store, rate_limit_auth="2/minute")
    client = await start(with_settings(settings, rate_limit=rates), upstreams=_echoes())

    allowed = [(await client.post(path, json={})).status_code for _ in range(2)]
    refused = await client.post(path, json={}, headers=_bearer("a-token-does-not-help"))
    elsewhere = await client.get("/api/v1/auth/me")

    assert allowed == [200, 200]
    assert_rate_limited(refused, "auth")
    assert elsewhere.status_code == 200


async def test_login_and_register_share_one_budget(start, settings, rate_limit_store):
    rates = limits(rate_limit_store, rate_limit_auth="2/minute")
    client = await start(with_settings(settings, rate_limit=rates), upstreams=_echoes())

    await client.post("/api/v1/auth/register", json={})
    await client.post("/api/v1/auth/login", json={})
    refused = await client.post("/api/v1/auth/register", json={})

    assert_rate_limited(refused, "auth")


async def test_forwarded_for_is_honoured_from_a_trusted_proxy(start, settings, rate_limit_store):
    rates = limits(rate_limit_store, rate_limit_per_address="1/minute")
    trusting = with_settings(
        settings, rate_limit=rates, http=HttpSettings(trusted_proxies=["203.0.113.0/24"])
    )
    client = await start(trusting, upstreams=_echoes())

    first = await client.get(PATH, headers={"X-Forwarded-For": "198.51.100.1"})
    again = await client.get(PATH, headers={"X-Forwarded-For": "198.51.100.1"})
    other = await client.get(PATH, headers={"X-Forwarded-For": "198.51.100.2"})

    assert first.status_code == 200
    assert first.json()["client"][0] == "198.51.100.1"
    assert_rate_limited(again, "address")
    assert other.status_code == 200


async def test_forwarded_for_from_anyone_else_is_ignored(start, settings, rate_limit_store):
    rates = limits(rate_limit_store, rate_limit_per_address="1/minute")
    client = await start(with_settings(settings, rate_limit=rates), upstreams=_echoes())

    first = await client.get(PATH, headers={"X-Forwarded-For": "198.51.100.1"})
    spoofed = await client.get(PATH, headers={"X-Forwarded-For": "198.51.100.2"})

    assert first.json()["client"][0] == "203.0.113.7"
    assert_rate_limited(spoofed, "address")


async def test_a_trusted_proxy_chain_is_read_from_the_right(start, settings):
    # A client may prepend anything; only the hop the trusted proxy appended counts.
    trusting = with_settings(
        settings, rate_limit=limits(), http=HttpSettings(trusted_proxies=["203.0.113.7"])
    )
    client = await start(trusting, upstreams=_echoes())

    response = await client.get(PATH, headers={"X-Forwarded-For": "10.9.9.9, 198.51.100.4"})

    assert response.json()["client"][0] == "198.51.100.4"


@pytest.mark.redis
async def test_gateway_replicas_share_their_counters_in_redis(launch, connect, settings, redis_url):
    rates = limits(redis_url, rate_limit_per_address="2/minute")
    replicated = with_settings(settings, rate_limit=rates)
    one = await connect(await launch(replicated, upstreams=_echoes()))
    two = await connect(await launch(replicated, upstreams=_echoes()))

    await one.get(PATH)
    await two.get(PATH)
    refused = await one.get(PATH)  # the same address, counted once across replicas

    assert_rate_limited(refused, "address")


async def test_an_unreachable_redis_lets_requests_through_and_shows_in_health(start, settings):
    rates = limits(f"redis://127.0.0.1:{free_port()}/0", rate_limit_per_address="1/minute")
    client = await start(with_settings(settings, rate_limit=rates), upstreams=_echoes())

    responses = [(await client.get(PATH)).status_code for _ in range(3)]
    health = (await client.get("/health")).json()

    assert responses == [200, 200, 200]
    assert health["status"] == "degraded"
    assert health["dependencies"]["rate_limits"]["status"] == "unavailable"


async def test_disabled_rate_limits_never_answer_429(start, settings):
    rates = RateLimitSettings(rate_limit_enabled=False, rate_limit_per_address="1/minute")
    client = await start(with_settings(settings, rate_limit=rates), upstreams=_echoes())

    statuses = {(await client.get(PATH)).status_code for _ in range(3)}

    assert statuses == {200}
