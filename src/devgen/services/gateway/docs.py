"""Each service's OpenAPI document and Swagger UI, reachable through the gateway.

Only ``/api/v1`` and ``/.well-known`` are routed to services, so their own
``/docs`` are not reachable from outside; the gateway serves the UI itself
and fetches the document from the service. The document carries no server
URL, so "Try it out" calls ``/api/v1/...`` on the gateway, which routes it.
"""

from __future__ import annotations

import httpx
from fastapi import APIRouter, Request, Response
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

from devgen.kit.errors import NotFound
from devgen.services.gateway.errors import BadGateway
from devgen.services.gateway.state import GatewayState

router = APIRouter(prefix="/services", include_in_schema=False)


def _deployed(request: Request, service: str) -> GatewayState:
    state: GatewayState = request.app.state.gateway
    if service not in state.deployed():
        raise NotFound(f"No service named {service!r} runs behind this gateway.")
    return state


@router.get("/{service}/docs")
async def service_docs(service: str, request: Request) -> HTMLResponse:
    """Swagger UI for one service's API."""
    _deployed(request, service)
    return get_swagger_ui_html(
        openapi_url=f"/services/{service}/openapi.json", title=f"devgen {service} API"
    )


@router.get("/{service}/openapi.json")
async def service_openapi(service: str, request: Request) -> Response:
    """One service's OpenAPI document, as the service publishes it."""
    state = _deployed(request, service)
    try:
        if (app := state.in_process.get(service)) is not None:
            transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 0))
            async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
                upstream = await client.get("/openapi.json")
        else:
            base_url = state.urls.url_of(service).rstrip("/")
            upstream = await state.http.client.get(f"{base_url}/openapi.json")
    except httpx.HTTPError as exc:
        raise BadGateway(f"The {service} service could not be reached.") from exc
    if upstream.status_code != 200:
        raise BadGateway(f"The {service} service did not publish its API document.")
    return Response(upstream.content, media_type="application/json")
