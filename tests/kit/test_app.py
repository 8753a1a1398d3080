"""``create_app``: transactions, the error envelope, request ids, limits, health, CORS."""

from __future__ import annotations

import httpx
import pytest

from devgen.kit.app import create_app
from devgen.kit.service import ServiceDefinition
from devgen.kit.settings import Environment, HttpSettings
from tests.helpers import assert_error


async def _count(client) -> int:
    return (await client.get("/api/v1/notes/count")).json()["count"]


async def test_success_commits(kit_client):
    response = await kit_client.post("/api/v1/notes", json={"text": "hello"})
    assert response.status_code == 201
    assert await _count(kit_client) == 1


async def test_an_error_rolls_back_what_was_flushed(kit_client):
    response = await kit_client.post("/api/v1/notes", json={"text": "conflict-after-write"})
    assert_error(response, 409, "CONFLICT")
    assert await _count(kit_client) == 0


async def test_record_and_raise_keeps_the_record_and_drops_the_rest(kit_client):
    response = await kit_client.post("/api/v1/notes", json={"text": "record-then-refuse"})
    assert_error(response, 409)
    assert await _count(kit_client) == 1  # the record, not the note the endpoint added


async def test_unhandled_exception_is_a_500_envelope_without_details(kit_client):
    response = await kit_client.post("/api/v1/notes", json={"text": "boom"})
    error = assert_error(response, 500, "INTERNAL_ERROR")
    assert "secret internal detail" not in response.text
    assert "Traceback" not in response.text
    assert error["request_id"] == response.headers["X-Request-ID"]
    assert await _count(kit_client) == 0


async def test_validation_error_lists_locations_and_does_not_echo_input(kit_client):
    response = await kit_client.post("/api/v1/notes", json={"text": 123456789})
    error = assert_error(response, 422, "VALIDATION_ERROR")
    assert error["details"]["errors"][0]["location"] == "body.text"
    assert "123456789" not in response.text


async def test_not_found_route_and_wrong_method_use_the_envelope(kit_client):
    assert_error(await kit_client.get("/nope"), 404, "NOT_FOUND")
    response = await kit_client.delete("/api/v1/notes")
    assert_error(response, 405, "METHOD_NOT_ALLOWED")
    assert response.headers["Allow"] == "POST"
    listing = await kit_client.post("/api/v1/notes/count")
    assert listing.headers["Allow"] == "GET"


async def test_domain_error_carries_details(kit_client):
    error = assert_error(await kit_client.get("/api/v1/notes/missing"), 404, "NOT_FOUND")
    assert error["details"] == {"id": "x"}
    assert error["message"] == "no such note"


async def test_request_id_is_kept_when_valid_and_replaced_when_not(kit_client):
    kept = await kit_client.get("/api/v1/notes/count", headers={"X-Request-ID": "abc-123"})
    assert kept.headers["X-Request-ID"] == "abc-123"
    replaced = await kit_client.get(
        "/api/v1/notes/count", headers={"X-Request-ID": "bad id\twith\nstuff"}
    )
    assert replaced.headers["X-Request-ID"] != "bad id\twith\nstuff"
    assert len(replaced.headers["X-Request-ID"]) == 32


async def test_body_over_the_limit_is_413_by_length_and_by_stream(kit_client):
    big = b'{"text": "' + b"x" * 5000 + b'"}'
    by_length = await kit_client.post(
        "/api/v1/notes", content=big, headers={"Content-Type": "application/json"}
    )
    assert_error(by_length, 413, "PAYLOAD_TOO_LARGE")

    async def chunks():
        for _ in range(10):
            yield b"x" * 1000

    streamed = await kit_client.post(
        "/api/v1/notes", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert_error(streamed, 413, "PAYLOAD_TOO_LARGE")
    assert await _count(kit_client) == 0


async def test_health_has_the_seed_format(kit_client):
    body = (await kit_client.get("/health")).json()
    assert set(body) == {"service", "status", "version", "dependencies", "metrics"}
    assert body["service"] == "notes"
    assert body["status"] == "ok"
    assert body["dependencies"]["database"]["status"] == "ok"
    assert body["metrics"]["uptime_seconds"] >= 0


async def test_ready_is_503_when_the_database_is_unreachable(kit_app, kit_client):
    assert (await kit_client.get("/ready")).status_code == 200
    from devgen.kit.db import Database

    working = kit_app.state.database
    kit_app.state.database = Database("postgresql+asyncpg://nobody@127.0.0.1:9/none")
    response = await kit_client.get("/ready")
    error = assert_error(response, 503, "SERVICE_UNAVAILABLE")
    assert error["details"]["failing"]["database"]["status"] == "unavailable"
    health = (await kit_client.get("/health")).json()
    assert health["status"] == "degraded"
    await kit_app.state.database.dispose()
    kit_app.state.database = working


async def test_metrics_count_requests_by_route_template(kit_client):
    await kit_client.get("/api/v1/notes/count")
    text = (await kit_client.get("/metrics")).text
    assert 'route="/api/v1/notes/count"' in text
    assert 'service="notes"' in text
    await kit_client.get("/unknown/path/123")
    assert "/unknown/path/123" not in (await kit_client.get("/metrics")).text


async def test_cors_preflight_allows_configured_origin_only(kit_client):
    allowed = await kit_client.options(
        "/api/v1/notes",
        headers={"Origin": "https://app.example", "Access-Control-Request-Method": "POST"},
    )
    assert allowed.headers["access-control-allow-origin"] == "https://app.example"
    denied = await kit_client.options(
        "/api/v1/notes",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in denied.headers


async def test_openapi_declares_the_error_envelope(kit_client):
    schema = (await kit_client.get("/openapi.json")).json()
    responses = schema["paths"]["/api/v1/notes"]["post"]["responses"]
    assert responses["422"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/ErrorEnvelope"
    )


async def test_validation_error_does_not_echo_a_huge_unknown_key(kit_client):
    huge_key = "k" * 3000  # under the 4 KiB body limit of this test app
    response = await kit_client.post("/api/v1/notes/strict", json={"text": "x", huge_key: 1})
    error = assert_error(response, 422)
    assert error["details"]["errors"][0]["location"] == "body." + "k" * 64 + "…"
    assert len(response.content) < 2000


async def test_an_undeclared_query_parameter_is_refused_and_echoed_bounded(kit_client):
    assert (await kit_client.get("/api/v1/notes/search?text=a")).json() == {"text": "a"}
    names = [f"{letter * 100}" for letter in "abcdefghijkl"]
    response = await kit_client.get("/api/v1/notes/search", params=dict.fromkeys(names, "1"))
    error = assert_error(response, 422, "VALIDATION_ERROR")
    locations = [item["location"] for item in error["details"]["errors"]]
    assert locations == [f"query.{name[:64]}" for name in names[:10]]
    assert names[0] not in response.text  # never the whole of a hostile name


@pytest.mark.parametrize(
    ("env", "address", "served"),
    [
        ("production", "203.0.113.9", False),
        ("production", "127.0.0.1", True),
        ("production", "10.1.2.3", True),  # in the configured network
        ("development", "203.0.113.9", True),
    ],
)
async def test_metrics_are_served_in_production_only_to_the_allowed_networks(
    kit_settings, env, address, served
):
    settings = kit_settings.model_copy(
        update={
            "core": kit_settings.core.model_copy(update={"env": Environment(env)}),
            "http": HttpSettings(metrics_allowed_networks="127.0.0.0/8,10.0.0.0/8"),
        }
    )
    definition = ServiceDefinition(name="notes", title="notes", description="t", routers=[])
    app = create_app(definition, settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=(address, 5000))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.get("/metrics")
    if served:
        assert response.status_code == 200
        assert "devgen_http_requests" in response.text
    else:
        assert_error(response, 404)
        assert "devgen_http" not in response.text
