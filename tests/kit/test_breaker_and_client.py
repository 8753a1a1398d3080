"""Circuit breaker and service client: retries, propagation, failing fast."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi import FastAPI, Request

from devgen.kit.breaker import BreakerState, CircuitBreaker, CircuitOpenError
from devgen.kit.client import ServiceClient, ServiceClients
from devgen.kit.context import authorization_var, request_id_var
from devgen.kit.errors import ServiceUnavailable
from devgen.kit.settings import ClientSettings, ServiceUrls
from tests.helpers import eventually


def test_breaker_opens_after_threshold_and_half_opens_after_reset(monkeypatch):
    clock = [100.0]
    monkeypatch.setattr("devgen.kit.breaker.time.monotonic", lambda: clock[0])
    breaker = CircuitBreaker("x", failure_threshold=2, reset_seconds=10)
    breaker.before_call()
    breaker.record_failure()
    assert breaker.state is BreakerState.closed
    breaker.record_failure()
    assert breaker.state is BreakerState.open
    with pytest.raises(CircuitOpenError):
        breaker.before_call()
    clock[0] += 10
    assert breaker.state is BreakerState.half_open
    breaker.before_call()  # the one trial call
    with pytest.raises(CircuitOpenError):
        breaker.before_call()  # no second call while the trial is in flight
    breaker.record_failure()
    assert breaker.state is BreakerState.open
    clock[0] += 10
    breaker.before_call()
    breaker.record_success()
    assert breaker.state is BreakerState.closed


def _flaky_app(fail_times: int) -> tuple[FastAPI, dict]:
    app = FastAPI()
    seen: dict = {"calls": 0, "headers": []}

    @app.api_route("/thing", methods=["GET", "POST"])
    async def thing(request: Request):
        seen["calls"] += 1
        seen["headers"].append(dict(request.headers))
        if seen["calls"] <= fail_times:
            from fastapi.responses import JSONResponse

            return JSONResponse({"down": True}, status_code=503)
        return {"ok": True}

    return app, seen


def _client(app: FastAPI, **settings) -> ServiceClient:
    return ServiceClient(
        "thing",
        base_url="http://thing",
        transport=httpx.ASGITransport(app=app),
        settings=ClientSettings(**settings),
    )


async def test_idempotent_calls_are_retried_until_success():
    app, seen = _flaky_app(fail_times=2)
    client = _client(app, client_retry_attempts=3)
    response = await client.get("/thing")
    assert response.status_code == 200
    assert seen["calls"] == 3


async def test_unsafe_calls_are_not_retried_without_an_idempotency_key():
    app, seen = _flaky_app(fail_times=1)
    client = _client(app, client_retry_attempts=3)
    assert (await client.post("/thing")).status_code == 503
    assert seen["calls"] == 1
    app, seen = _flaky_app(fail_times=1)
    client = _client(app, client_retry_attempts=3)
    response = await client.post("/thing", headers={"Idempotency-Key": "k1"})
    assert response.status_code == 200
    assert seen["calls"] == 2


async def test_request_id_trace_context_and_caller_token_are_propagated():
    app, seen = _flaky_app(fail_times=0)
    client = _client(app)
    request_token = request_id_var.set("req-42")
    auth_token = authorization_var.set("Bearer caller-token")
    try:
        await client.get(
            "/thing", headers={"traceparent": "00-" + "a" * 32 + "-" + "b" * 16 + "-01"}
        )
        await client.get("/thing", forward_auth=False)
        await client.get("/thing", token="explicit")
    finally:
        request_id_var.reset(request_token)
        authorization_var.reset(auth_token)
    first, second, third = seen["headers"]
    assert first["x-request-id"] == "req-42"
    assert first["authorization"] == "Bearer caller-token"
    assert first["traceparent"].startswith("00-" + "a" * 32)
    assert "authorization" not in second
    assert third["authorization"] == "Bearer explicit"


async def test_unreachable_service_is_503_and_the_breaker_then_fails_fast():
    client = ServiceClient(
        "down",
        base_url="http://127.0.0.1:9",
        settings=ClientSettings(
            client_retry_attempts=1, client_breaker_failures=2, client_connect_timeout_seconds=1
        ),
    )
    for _ in range(2):
        with pytest.raises(ServiceUnavailable, match="could not be reached"):
            await client.get("/x")
    with pytest.raises(ServiceUnavailable, match="unavailable") as info:
        await client.get("/x")
    assert info.value.details["service"] == "down"
    await client.aclose()


def test_clients_need_a_transport_or_a_url():
    clients = ServiceClients(ServiceUrls(identity_url="http://id:8001"), ClientSettings())
    assert clients.get("identity") is clients.get("identity")
    with pytest.raises(ServiceUnavailable, match="DEVGEN_AUDIT_URL"):
        clients.get("audit")


def test_a_trial_call_that_ends_without_an_outcome_frees_the_next_trial(monkeypatch):
    clock = [0.0]
    monkeypatch.setattr("devgen.kit.breaker.time.monotonic", lambda: clock[0])
    breaker = CircuitBreaker("x", failure_threshold=1, reset_seconds=10)
    breaker.record_failure()
    clock[0] = 11.0
    breaker.before_call()  # the trial ...
    breaker.release()  # ... was cancelled
    breaker.before_call()  # so another call is the trial now
    breaker.record_success()
    assert breaker.state is BreakerState.closed


async def test_a_cancelled_trial_call_does_not_keep_the_circuit_open(monkeypatch):
    clock = [0.0]
    monkeypatch.setattr("devgen.kit.breaker.time.monotonic", lambda: clock[0])
    answering = asyncio.Event()
    hang = asyncio.Event()

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        if scope["path"] == "/hang":
            answering.set()
            await hang.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    settings = ClientSettings(client_breaker_failures=1, client_breaker_reset_seconds=10)
    client = ServiceClient(
        "target", base_url="http://t", transport=httpx.ASGITransport(app=app), settings=settings
    )
    client.breaker.record_failure()  # open
    clock[0] = 11.0  # half-open: the next call is the trial
    trial = asyncio.create_task(client.get("/hang"))
    await answering.wait()
    trial.cancel()
    with pytest.raises(asyncio.CancelledError):
        await trial
    response = await client.get("/ok")  # not "circuit open" for ever
    assert response.status_code == 200
    assert client.breaker.state is BreakerState.closed
    await client.aclose()


def test_a_just_opened_breaker_tries_again_soon_and_backs_off_after_failed_trials(monkeypatch):
    clock = [100.0]
    monkeypatch.setattr("devgen.kit.breaker.time.monotonic", lambda: clock[0])
    breaker = CircuitBreaker("x", failure_threshold=1, reset_seconds=8, first_reset_seconds=1)
    breaker.record_failure()
    assert breaker.state is BreakerState.open
    clock[0] += 1
    assert breaker.state is BreakerState.half_open
    for wait in (2, 4, 8, 8):  # each failed trial doubles the wait, up to the cap
        breaker.before_call()
        breaker.record_failure()
        clock[0] += wait - 0.01
        assert breaker.state is BreakerState.open
        clock[0] += 0.01
        assert breaker.state is BreakerState.half_open
    breaker.before_call()
    breaker.record_success()
    breaker.record_failure()
    clock[0] += 1  # closed again, so the next opening starts short again
    assert breaker.state is BreakerState.half_open


async def test_an_open_circuit_lets_a_call_through_once_the_target_answers_its_health_check():
    app = FastAPI()
    up = {"now": False, "calls": 0}

    @app.get("/health")
    async def health():
        from fastapi.responses import JSONResponse

        return JSONResponse({"status": "ok"}, status_code=200 if up["now"] else 503)

    @app.get("/thing")
    async def thing():
        from fastapi.responses import JSONResponse

        up["calls"] += 1
        return JSONResponse({"ok": up["now"]}, status_code=200 if up["now"] else 503)

    client = _client(
        app,
        client_retry_attempts=1,
        client_breaker_failures=2,
        client_breaker_reset_seconds=60,
        client_breaker_first_reset_seconds=60,
    )
    for _ in range(2):
        assert (await client.get("/thing")).status_code == 503
    assert client.breaker.state is BreakerState.open
    with pytest.raises(ServiceUnavailable, match="unavailable"):
        await client.get("/thing")  # the health check fails too: fail fast
    assert up["calls"] == 2
    up["now"] = True

    async def answered() -> int | None:
        try:
            return (await client.get("/thing")).status_code
        except ServiceUnavailable:
            return None  # the last health check was too recent to ask again

    assert await eventually(answered, timeout=5, what="the call through the circuit") == 200
    assert client.breaker.state is BreakerState.closed
    await client.aclose()
