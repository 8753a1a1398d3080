"""Forward a request to the service that owns its path.

A service mounted in this process (all-in-one) gets the ASGI call directly,
with no HTTP in between; any other is reached at its ``DEVGEN_<SERVICE>_URL``
through the streaming HTTP proxy. Rate limits are applied first either way.
(In all-in-one most requests never get here: ``InProcessShortcut`` hands
them to their service before the gateway app runs.)
"""

from __future__ import annotations

from starlette.types import Receive, Scope, Send

from devgen.kit.errors import NotFound
from devgen.services.gateway.dispatch import REFUSAL, dispatch_in_process
from devgen.services.gateway.routes import owner_of
from devgen.services.gateway.state import GatewayState


class Dispatcher:
    """A raw ASGI endpoint that hands the request to the owning service."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (refusal := scope.get(REFUSAL)) is not None:
            raise refusal  # counted already, by the short path
        state: GatewayState = scope["app"].state.gateway
        origin = state.resolver.resolve(scope)
        await state.limiter.check(scope["method"], scope["path"], scope["headers"], origin.address)
        service = owner_of(scope["path"])
        if service is None:
            raise NotFound("No service serves this path.")
        if (app := state.in_process.get(service)) is not None:
            await dispatch_in_process(app, scope, receive, send, origin)
            return
        if base_url := state.urls.url_of(service):
            await state.http.forward(service, base_url, scope, receive, send, origin)
            return
        raise NotFound(
            f"No service serves this path: the {service} service is not part of this deployment.",
            details={"service": service},
        )
