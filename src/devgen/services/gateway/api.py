"""The catch-all routes that dispatch ``/api/v1/...`` and ``/.well-known/...`` to services."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.routing import Route

from devgen.services.gateway.proxy import Dispatcher

router = APIRouter()
_dispatch = Dispatcher()
_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
router.routes.append(
    Route("/api/v1/{path:path}", _dispatch, methods=_METHODS, include_in_schema=False)
)
router.routes.append(
    Route("/.well-known/{path:path}", _dispatch, methods=_METHODS, include_in_schema=False)
)
