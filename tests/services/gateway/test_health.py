"""The aggregate ``/health``: the gateway's own shape, every service as a dependency."""

from __future__ import annotations

from devgen.kit.health import DependencyStatus
from devgen.kit.settings import ServiceUrls
from devgen.runtime.registry import available_services
from tests.runtime.processes import free_port
from tests.services.gateway.conftest import limits, with_settings
from tests.services.gateway.upstreams import EchoService, serving, silent_listener

HEALTH_FIELDS = {"service", "status", "version", "dependencies", "metrics"}


async def test_all_in_one_health_lists_every_service_and_the_rate_limit_store(start, settings):
    client = await start(with_settings(settings, rate_limit=limits()))

    response = await client.get("/health")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == HEALTH_FIELDS
    assert body["service"] == "gateway"
    assert body["status"] == "ok"
    assert body["metrics"]["uptime_seconds"] >= 0
    dependencies = body["dependencies"]
    assert set(available_services()) <= set(dependencies)
    for name in available_services():
        assert dependencies[name]["status"] == "ok", dependencies
    assert dependencies["rate_limits"] == {"status": "ok", "detail": "memory"}


async def test_a_remote_service_that_answers_reports_its_version(start, settings):
    async with serving(EchoService("codegen").app) as url:
        client = await start(with_settings(settings, urls=ServiceUrls(codegen_url=url)), alone=True)

        body = (await client.get("/health")).json()

    assert body["status"] == "ok"
    assert body["dependencies"]["codegen"] == {"status": "ok", "detail": "version 9.9.9"}


async def test_a_remote_service_that_is_down_degrades_health_but_still_answers_200(start, settings):
    down = f"http://127.0.0.1:{free_port()}"
    client = await start(with_settings(settings, urls=ServiceUrls(identity_url=down)), alone=True)

    response = await client.get("/health")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["dependencies"]["identity"]["status"] == "unavailable"
    assert body["dependencies"]["identity"]["detail"] == "ConnectError"


async def test_a_hung_service_is_given_up_on_after_the_health_timeout(start, settings, monkeypatch):
    monkeypatch.setenv("DEVGEN_GATEWAY_HEALTH_TIMEOUT_SECONDS", "0.2")
    async with silent_listener() as url:
        client = await start(with_settings(settings, urls=ServiceUrls(profile_url=url)), alone=True)

        body = (await client.get("/health")).json()

    assert body["status"] == "degraded"
    assert body["dependencies"]["profile"] == {
        "status": "unavailable",
        "detail": "no answer within 0.2s",
    }


async def test_a_service_and_the_rate_limit_store_down_leave_the_gateway_ready(start, settings):
    down = f"http://127.0.0.1:{free_port()}"
    dead_redis = f"redis://127.0.0.1:{free_port()}/0"
    client = await start(
        with_settings(settings, urls=ServiceUrls(identity_url=down), rate_limit=limits(dead_redis)),
        alone=True,
    )

    ready = await client.get("/ready")
    health = await client.get("/health")

    assert ready.status_code == 200, ready.text
    assert ready.json()["status"] == "ready"
    assert "identity" not in ready.json()["dependencies"]
    assert health.status_code == 200
    assert health.json()["status"] == "degraded"
    dependencies = health.json()["dependencies"]
    assert dependencies["identity"]["status"] == "unavailable"
    assert dependencies["rate_limits"]["status"] == "unavailable"


async def test_a_check_of_the_gateway_itself_still_makes_it_unready(launch, connect, settings):
    # The positive control: readiness fails on what the gateway itself needs.
    app = await launch(settings, alone=True)

    async def broken(_request: object) -> DependencyStatus:
        return DependencyStatus(status="unavailable", detail="broken on purpose")

    app.state.health_checks["own"] = broken
    client = await connect(app)

    ready = await client.get("/ready")

    assert ready.status_code == 503
    assert set(ready.json()["error"]["details"]["failing"]) == {"own"}
