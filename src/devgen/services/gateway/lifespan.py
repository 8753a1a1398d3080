"""Start-up and shut-down of the gateway."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from devgen.kit.auth.tokens import Authenticator
from devgen.kit.errors import ServiceUnavailable, Unauthorized
from devgen.kit.settings import Settings
from devgen.kit.tls import client_context
from devgen.services.gateway.addresses import ClientAddressResolver
from devgen.services.gateway.health import health_checks
from devgen.services.gateway.ratelimit import GatewayRateLimiter, Verify
from devgen.services.gateway.settings import GatewaySettings
from devgen.services.gateway.state import GatewayState
from devgen.services.gateway.upstream import HttpUpstream


def credential_verifier(authenticator: Authenticator) -> Verify:
    """Whether a bearer credential authenticates (for rate limiting only; services decide)."""

    async def verify(credential: str) -> bool:
        try:
            await authenticator.authenticate(credential)
        except (Unauthorized, ServiceUnavailable):
            return False  # junk, expired, revoked, or identity unreachable: count by address
        return True

    return verify


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Build the limiter, the HTTP upstream client and the aggregate health checks.

    The all-in-one runtime mounts the in-process service apps
    (``shortcut.mount_in_process``) before the app starts; alone there are none.
    """
    settings: Settings = app.state.settings
    gateway_settings = GatewaySettings()
    state = GatewayState(
        settings=gateway_settings,
        urls=settings.urls,
        resolver=ClientAddressResolver(settings.http.trusted_proxies),
        limiter=GatewayRateLimiter(
            settings.rate_limit,
            key_prefix=gateway_settings.rate_limit_key_prefix,
            verify=credential_verifier(app.state.authenticator),
        ),
        http=HttpUpstream(
            connect_timeout=settings.client.client_connect_timeout_seconds,
            timeout=gateway_settings.gateway_upstream_timeout_seconds,
            tls=client_context(settings.tls),
        ),
        in_process=dict(getattr(app.state, "upstream_apps", {})),
    )
    app.state.gateway = state
    checks = health_checks(state)
    app.state.health_checks.update(checks)
    # /health reports the services behind it and the rate-limit store; /ready is about
    # the gateway itself. Neither stops it serving (an unreachable store lets requests
    # through), and every replica would leave the rotation at once if they counted.
    app.state.reported_only = frozenset(checks)
    try:
        yield
    finally:
        await state.http.aclose()
        await state.limiter.aclose()
