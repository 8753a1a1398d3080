"""CORS from ``DEVGEN_CORS_ORIGINS``: listed origins may call the API from a browser."""

from __future__ import annotations

import pytest

from devgen.kit.settings import HttpSettings
from tests.services.gateway.conftest import limits, with_settings

ALLOWED = "https://console.example.com"
PREFLIGHT = {
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "content-type",
}


@pytest.fixture
def cors_settings(settings, monkeypatch):
    """Settings whose CORS origins come from the environment variable, as in production."""
    monkeypatch.setenv("DEVGEN_CORS_ORIGINS", f"{ALLOWED}, https://other.example.com")
    return with_settings(settings, http=HttpSettings())


def test_the_origins_setting_is_a_comma_separated_list(cors_settings):
    assert cors_settings.http.cors_origins == [ALLOWED, "https://other.example.com"]


async def test_a_preflight_from_a_listed_origin_is_allowed(start, cors_settings):
    client = await start(cors_settings)

    response = await client.options("/api/v1/auth/login", headers={"Origin": ALLOWED, **PREFLIGHT})

    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert "content-type" in response.headers["Access-Control-Allow-Headers"].lower()


async def test_a_preflight_from_another_origin_is_refused(start, cors_settings):
    client = await start(cors_settings)

    response = await client.options(
        "/api/v1/auth/login", headers={"Origin": "https://evil.example", **PREFLIGHT}
    )

    assert response.status_code == 400
    assert "Access-Control-Allow-Origin" not in response.headers


async def test_a_routed_response_names_the_origin_once_and_exposes_the_request_id(
    start, cors_settings
):
    client = await start(cors_settings)

    response = await client.get("/api/v1/auth/me", headers={"Origin": ALLOWED})

    assert response.status_code == 401
    # Gateway and service both run the CORS middleware; the header must not be doubled.
    assert response.headers.get_list("Access-Control-Allow-Origin") == [ALLOWED]
    exposed = response.headers["Access-Control-Expose-Headers"].lower()
    assert "x-request-id" in exposed
    assert "retry-after" in exposed


async def test_without_the_setting_no_cors_headers_are_sent(start, settings):
    client = await start(settings)

    response = await client.options("/api/v1/auth/login", headers={"Origin": ALLOWED, **PREFLIGHT})

    assert "Access-Control-Allow-Origin" not in response.headers


async def test_preflights_do_not_use_up_the_rate_limit(start, cors_settings):
    client = await start(
        with_settings(cors_settings, rate_limit=limits(rate_limit_per_address="1/minute"))
    )

    preflights = [
        await client.options("/api/v1/auth/me", headers={"Origin": ALLOWED, **PREFLIGHT})
        for _ in range(3)
    ]
    first = await client.get("/api/v1/auth/me", headers={"Origin": ALLOWED})

    assert [response.status_code for response in preflights] == [200, 200, 200]
    assert first.status_code == 401


async def test_a_rate_limited_answer_is_readable_by_the_browser(start, cors_settings):
    client = await start(
        with_settings(cors_settings, rate_limit=limits(rate_limit_per_address="1/minute"))
    )

    await client.get("/api/v1/auth/me", headers={"Origin": ALLOWED})
    refused = await client.get("/api/v1/auth/me", headers={"Origin": ALLOWED})

    assert refused.status_code == 429
    assert refused.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert "retry-after" in refused.headers["Access-Control-Expose-Headers"].lower()
