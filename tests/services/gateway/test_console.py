"""The web console at ``/``: static files under a strict Content-Security-Policy."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from devgen.services.gateway import console as console_module

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


async def test_the_console_page_is_served_at_the_root(client):
    response = await client.get("/")

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "<title>devgen console</title>" in response.text
    assert '<script type="module" src="/console/js/main.js">' in response.text


async def test_the_console_allows_only_same_origin_scripts_and_calls(client):
    policy = (await client.get("/")).headers["Content-Security-Policy"]

    assert "default-src 'none'" in policy
    assert "script-src 'self'" in policy
    assert "connect-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy


@pytest.mark.parametrize(
    ("path", "media_type", "marker"),
    [
        ("/console/js/main.js", "text/javascript; charset=utf-8", "import "),
        ("/console/js/views/run.js", "text/javascript; charset=utf-8", "/events"),
        ("/console/console.css", "text/css; charset=utf-8", "{"),
        ("/console/favicon.svg", "image/svg+xml", "<svg"),
    ],
)
async def test_the_console_assets_are_served(client, path, media_type, marker):
    response = await client.get(path)

    assert response.status_code == 200
    assert response.headers["content-type"] == media_type
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert marker in response.text


async def test_a_console_asset_is_revalidated_by_its_etag(client):
    first = await client.get("/console/js/api.js")
    again = await client.get("/console/js/api.js", headers={"If-None-Match": first.headers["ETag"]})

    assert again.status_code == 304
    assert again.content == b""


@pytest.mark.parametrize(
    "path", ["/console/nosuch.js", "/console/../console.py", "/console/examples/library.txt"]
)
async def test_only_the_console_files_are_served(client, path):
    response = await client.get(path)

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"


async def test_the_console_offers_the_repository_examples(client):
    response = await client.get("/console/examples.json")

    examples = {item["name"]: item["text"] for item in response.json()["data"]}
    assert response.status_code == 200
    assert examples["library"] == (EXAMPLES / "library.txt").read_text()
    assert set(examples) == {path.stem for path in EXAMPLES.glob("*.txt")}


async def test_no_console_page_or_script_runs_inline_code(client):
    page = (await client.get("/")).text
    scripts = [(await client.get(f"/console/{name}")).text for name in _console_scripts()]

    assert "<script>" not in page
    assert not re.search(r"\son[a-z]+\s*=", page)
    assert "style=" not in page
    assert not [text for text in scripts if ".innerHTML" in text or "eval(" in text]


def _console_scripts() -> list[str]:
    root = Path(console_module.__file__).parent / "console"
    return sorted(str(path.relative_to(root)) for path in root.glob("js/**/*.js"))


async def test_each_service_api_document_is_reachable_through_the_gateway(client):
    docs = await client.get("/services/identity/docs")
    document = await client.get("/services/identity/openapi.json")
    unknown = await client.get("/services/nosuch/docs")

    assert docs.status_code == 200
    assert "/services/identity/openapi.json" in docs.text
    assert document.status_code == 200
    assert "/api/v1/auth/login" in document.json()["paths"]
    assert unknown.status_code == 404
