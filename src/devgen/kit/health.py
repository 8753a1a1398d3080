"""Liveness, readiness and metrics endpoints every service has."""

from __future__ import annotations

import asyncio
import ipaddress
import time
from typing import Any

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field

from devgen.kit.errors import ErrorEnvelope, NotFound, ServiceUnavailable
from devgen.kit.metrics import REGISTRY

_PING_TIMEOUT_SECONDS = 2.0


class DependencyStatus(BaseModel):
    """How one dependency is doing."""

    status: str = Field(examples=["ok"])
    detail: str | None = None


class HealthMetrics(BaseModel):
    """Numbers about the process."""

    uptime_seconds: float


class Health(BaseModel):
    """Liveness: the process answers, and how its dependencies look."""

    service: str
    status: str = Field(examples=["ok", "degraded"])
    version: str
    dependencies: dict[str, DependencyStatus]
    metrics: HealthMetrics


async def check_database(request: Request) -> DependencyStatus:
    """Ping the service's database with a short timeout."""
    database = getattr(request.app.state, "database", None)
    if database is None:
        return DependencyStatus(status="ok", detail="no database")
    try:
        await asyncio.wait_for(database.ping(), _PING_TIMEOUT_SECONDS)
    except Exception as exc:  # noqa: BLE001 - any failure means "unavailable"
        return DependencyStatus(status="unavailable", detail=type(exc).__name__)
    return DependencyStatus(status="ok", detail=database.backend)


async def dependency_statuses(
    request: Request, *, readiness: bool = False
) -> dict[str, DependencyStatus]:
    """Every check the service registered, run concurrently.

    With ``readiness``, only the checks of what the service needs to serve:
    those named in ``app.state.reported_only`` (another service's health, say)
    are reported by ``/health`` but never make the service unready.
    """
    checks: dict[str, Any] = {"database": check_database, **request.app.state.health_checks}
    if readiness:
        reported_only: frozenset[str] = getattr(request.app.state, "reported_only", frozenset())
        checks = {name: check for name, check in checks.items() if name not in reported_only}
    results = await asyncio.gather(*(check(request) for check in checks.values()))
    return dict(zip(checks, results, strict=True))


router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health, summary="Liveness and dependency status")
async def health(request: Request) -> Health:
    """Answers while the process is alive; ``status`` is ``degraded`` when a dependency is down."""
    dependencies = await dependency_statuses(request)
    state = request.app.state
    return Health(
        service=state.service.name,
        status="ok" if all(d.status == "ok" for d in dependencies.values()) else "degraded",
        version=state.service.version,
        dependencies=dependencies,
        metrics=HealthMetrics(uptime_seconds=round(time.monotonic() - state.started_at, 3)),
    )


@router.get(
    "/ready",
    summary="Readiness",
    responses={503: {"model": ErrorEnvelope, "description": "Not ready"}},
)
async def ready(request: Request) -> dict[str, Any]:
    """200 when the service can serve traffic (its own database, bus…), else 503.

    Other services being down does not make this one unready (a probe would
    take every replica out of rotation at once); ``/health`` reports them.
    """
    dependencies = await dependency_statuses(request, readiness=True)
    failing = {name: dep.model_dump() for name, dep in dependencies.items() if dep.status != "ok"}
    if failing:
        raise ServiceUnavailable("The service is not ready.", details={"failing": failing})
    return {"status": "ready", "dependencies": {k: v.model_dump() for k, v in dependencies.items()}}


def _may_scrape(request: Request) -> bool:
    settings = request.app.state.settings
    if not settings.core.is_production:
        return True
    address = request.client.host if request.client else None
    try:
        peer = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    return any(peer in network for network in settings.http.metrics_networks)


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={404: {"model": ErrorEnvelope, "description": "Not offered to this address"}},
)
async def metrics(request: Request) -> Response:
    """Request counts and latencies (and whatever else the process records).

    In production only addresses in ``DEVGEN_METRICS_ALLOWED_NETWORKS`` get
    them (the others get 404): they tell a stranger how the platform is used.
    """
    if not _may_scrape(request):
        raise NotFound()
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
