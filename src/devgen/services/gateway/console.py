"""The web console: static ES modules at ``/`` that talk to the public API with ``fetch``.

No build step and no framework: the files under ``console/`` are served as
they are, read once on first use, each with an ETag so a reload revalidates
instead of downloading again. A strict Content-Security-Policy allows only
same-origin scripts, styles and calls (no inline script, style or handler).
The requirement examples offered by "New generation" are the repository's
``examples/*.txt``: packaged as ``devgen/examples`` in a wheel, read from the
checkout in an editable install.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import Response

from devgen.kit.errors import NotFound

router = APIRouter(include_in_schema=False)

_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
_HEADERS = {
    "Content-Security-Policy": _POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
_MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".json": "application/json",
}
_EXAMPLES_DIR = "examples"
_EXAMPLES_PATH = "examples.json"


@dataclass(frozen=True, slots=True)
class _Asset:
    body: bytes
    media_type: str
    etag: str


def _asset(body: bytes, media_type: str) -> _Asset:
    return _Asset(body, media_type, f'"{hashlib.sha256(body).hexdigest()[:32]}"')


def _walk(node: Traversable, prefix: str, found: dict[str, _Asset]) -> None:
    for child in node.iterdir():
        if child.is_dir():
            _walk(child, f"{prefix}{child.name}/", found)
            continue
        suffix = child.name[child.name.rfind(".") :] if "." in child.name else ""
        if suffix in _MEDIA_TYPES:
            found[prefix + child.name] = _asset(child.read_bytes(), _MEDIA_TYPES[suffix])


def _examples_folder() -> Traversable | Path:
    packaged = resources.files("devgen") / _EXAMPLES_DIR
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[4] / _EXAMPLES_DIR  # the checkout's, editable


def _examples() -> _Asset:
    folder = _examples_folder()
    items = []
    if folder.is_dir():
        for child in sorted(folder.iterdir(), key=lambda node: node.name):
            if child.name.endswith(".txt") and child.is_file():
                items.append({"name": child.name[: -len(".txt")], "text": child.read_text()})
    body = json.dumps({"data": items}, ensure_ascii=False).encode()
    return _asset(body, _MEDIA_TYPES[".json"])


@lru_cache(maxsize=1)
def _assets() -> dict[str, _Asset]:
    """Every file of the console by its path under ``/console/``, read once."""
    root = resources.files(__package__) / "console"
    found: dict[str, _Asset] = {}
    _walk(root, "", found)
    found[_EXAMPLES_PATH] = _examples()
    return found


def _serve(request: Request, name: str) -> Response:
    asset = _assets().get(name)
    if asset is None:
        raise NotFound("The console has no such file.")
    headers = {**_HEADERS, "ETag": asset.etag}
    if request.headers.get("if-none-match") == asset.etag:
        return Response(status_code=304, headers=headers)
    return Response(asset.body, media_type=asset.media_type, headers=headers)


@router.get("/")
async def console(request: Request) -> Response:
    """The console page."""
    return _serve(request, "index.html")


@router.get("/console/{path:path}")
async def console_file(path: str, request: Request) -> Response:
    """A script, style sheet or image of the console, or the examples it offers."""
    return _serve(request, path)
