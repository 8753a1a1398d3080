"""Handing a request to a service app mounted in this process (all-in-one)."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from devgen.services.gateway.addresses import ClientOrigin

REFUSAL = "devgen.gateway.refusal"
"""Scope key under which the short path leaves a rate-limit refusal for the dispatcher."""


async def dispatch_in_process(
    app: ASGIApp, scope: Scope, receive: Receive, send: Send, origin: ClientOrigin
) -> None:
    """Call ``app`` with the request, as it would arrive behind a proxy that sets the client.

    The service sees the real client address and scheme (what uvicorn's
    proxy-headers support gives a service behind the gateway when it runs
    alone), and a scope of its own: the gateway's app, router and route do
    not leak into it.
    """
    forwarded = {
        key: value
        for key, value in scope.items()
        if key not in {"app", "router", "route", "endpoint", "path_params", REFUSAL}
    }
    client = scope.get("client")
    if client is None or client[0] != origin.address:
        forwarded["client"] = (origin.address, client[1] if client else 0)
    forwarded["scheme"] = origin.scheme
    await app(forwarded, receive, send)
