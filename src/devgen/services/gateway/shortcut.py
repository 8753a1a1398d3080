"""All-in-one's short path: a request for an in-process service goes straight to its app.

The service app runs the whole chassis itself (request id, access log,
metrics, trace span, body limit, CORS, error envelope), so running the
gateway's copy of the same middleware first only doubles the cost of every
request. In front of the gateway app, in front of even its trace span and
error middleware (the service app has its own of both), this wrapper resolves the client,
applies the rate limits and hands the request to the owning service. What it
cannot hand on (a refused request, an unknown path, the gateway's own pages)
goes through the gateway app as before, so every answer keeps the envelope,
the request id and the CORS headers.
"""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from devgen.kit.errors import RateLimited
from devgen.services.gateway.dispatch import REFUSAL, dispatch_in_process
from devgen.services.gateway.routes import owner_of
from devgen.services.gateway.state import GatewayState

_ROUTED_PREFIXES = ("/api/", "/.well-known/")


class InProcessShortcut:
    """Raw ASGI middleware: in-process services get their requests without a detour."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            # CORS preflights are the gateway's to answer, and are not rate limited.
            or scope["method"] == "OPTIONS"
            or not scope["path"].startswith(_ROUTED_PREFIXES)
        ):
            await self.app(scope, receive, send)
            return
        state: GatewayState = scope["app"].state.gateway
        service = owner_of(scope["path"])
        target = state.in_process.get(service) if service is not None else None
        if target is None:
            await self.app(scope, receive, send)
            return
        origin = state.resolver.resolve(scope)
        try:
            await state.limiter.check(
                scope["method"], scope["path"], scope["headers"], origin.address
            )
        except RateLimited as refusal:
            # Rendered by the gateway app, which gives it the envelope, the
            # request id and CORS; the dispatcher raises it without counting again.
            scope[REFUSAL] = refusal
            await self.app(scope, receive, send)
            return
        await dispatch_in_process(target, scope, receive, send, origin)


def mount_in_process(gateway: FastAPI, apps: Mapping[str, ASGIApp]) -> None:
    """Put ``apps`` (service name to app) behind ``gateway``, in this process.

    Call before the gateway starts; its lifespan picks the apps up and the
    short path sends each service its requests.
    """
    gateway.state.upstream_apps = dict(apps)
    # Outermost, around the stack the tracing instrumentation already wrapped:
    # a request handed on costs the gateway a path lookup and the rate limit.
    build_stack = gateway.build_middleware_stack

    def build_with_shortcut() -> ASGIApp:
        return InProcessShortcut(build_stack())

    gateway.build_middleware_stack = build_with_shortcut  # type: ignore[method-assign]
