"""The web console: a static page at ``/`` that talks to the API with ``fetch``.

No build step: the files in ``console/`` are served as they are, read once
on first use. A strict Content-Security-Policy allows only same-origin
scripts and calls.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

from fastapi import APIRouter
from fastapi.responses import Response

router = APIRouter(include_in_schema=False)

_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


@lru_cache(maxsize=8)
def _asset(name: str) -> bytes:
    return (resources.files(__package__) / "console" / name).read_bytes()


def _serve(name: str, media_type: str) -> Response:
    return Response(_asset(name), media_type=media_type, headers=_HEADERS)


@router.get("/")
async def console() -> Response:
    """The console page."""
    return _serve("index.html", "text/html; charset=utf-8")


@router.get("/console/console.js")
async def console_script() -> Response:
    """The console's script."""
    return _serve("console.js", "text/javascript; charset=utf-8")


@router.get("/console/console.css")
async def console_style() -> Response:
    """The console's style sheet."""
    return _serve("console.css", "text/css; charset=utf-8")
