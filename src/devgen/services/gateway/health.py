"""The aggregate ``/health``: every service's health as a dependency of the gateway.

The chassis' ``/health`` runs the checks registered in
``app.state.health_checks``; the gateway registers one per service it can
reach (in process or over HTTP, with a short timeout) and one for the
rate-limit store. The answer keeps the chassis' shape, so a probe cannot
tell the gateway from any other service.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from fastapi import Request
from starlette.types import ASGIApp

from devgen.kit.health import DependencyStatus
from devgen.services.gateway.state import GatewayState

HealthCheck = Callable[[Request], Awaitable[DependencyStatus]]


def _summary(body: Any) -> DependencyStatus:
    if not isinstance(body, dict) or "status" not in body:
        return DependencyStatus(status="unavailable", detail="not a health document")
    failing = [
        f"{name}: {dep.get('status')}"
        for name, dep in (body.get("dependencies") or {}).items()
        if isinstance(dep, dict) and dep.get("status") != "ok"
    ]
    detail = f"version {body.get('version', '?')}"
    if failing:
        detail += "; " + ", ".join(failing)
    return DependencyStatus(status=str(body["status"]), detail=detail)


async def _ask(client: httpx.AsyncClient, url: str, within_seconds: float) -> DependencyStatus:
    try:
        async with asyncio.timeout(within_seconds):
            response = await client.get(url)
    except TimeoutError:
        return DependencyStatus(
            status="unavailable", detail=f"no answer within {within_seconds:g}s"
        )
    except httpx.HTTPError as exc:
        return DependencyStatus(status="unavailable", detail=type(exc).__name__)
    if response.status_code != 200:
        return DependencyStatus(status="unavailable", detail=f"HTTP {response.status_code}")
    try:
        return _summary(response.json())
    except ValueError:
        return DependencyStatus(status="unavailable", detail="not a health document")


def _in_process_check(name: str, app: ASGIApp, timeout: float) -> HealthCheck:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 0))

    async def check(_request: Request) -> DependencyStatus:
        async with httpx.AsyncClient(transport=transport, base_url=f"http://{name}") as client:
            return await _ask(client, "/health", timeout)

    return check


def _remote_check(state: GatewayState, base_url: str) -> HealthCheck:
    url = base_url.rstrip("/") + "/health"
    timeout = state.settings.gateway_health_timeout_seconds

    async def check(_request: Request) -> DependencyStatus:
        return await _ask(state.http.client, url, timeout)

    return check


def _rate_limit_check(state: GatewayState) -> HealthCheck:
    async def check(_request: Request) -> DependencyStatus:
        if await state.limiter.healthy():
            return DependencyStatus(status="ok", detail=state.limiter.backend)
        return DependencyStatus(status="unavailable", detail=f"{state.limiter.backend} unreachable")

    return check


def health_checks(state: GatewayState) -> dict[str, HealthCheck]:
    """One check per reachable service, plus the rate-limit store when limits are on."""
    timeout = state.settings.gateway_health_timeout_seconds
    checks: dict[str, HealthCheck] = {}
    for name in state.deployed():
        if (app := state.in_process.get(name)) is not None:
            checks[name] = _in_process_check(name, app, timeout)
        else:
            checks[name] = _remote_check(state, state.urls.url_of(name))
    if state.limiter.enabled:
        checks["rate_limits"] = _rate_limit_check(state)
    return checks
