"""The web console at ``/``: static files under a strict Content-Security-Policy."""

from __future__ import annotations

import pytest


async def test_the_console_page_is_served_at_the_root(client):
    response = await client.get("/")

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "<title>devgen console</title>" in response.text
    assert '<script src="/console/console.js"' in response.text


async def test_the_console_allows_only_same_origin_scripts_and_calls(client):
    policy = (await client.get("/")).headers["Content-Security-Policy"]

    assert "default-src 'none'" in policy
    assert "script-src 'self'" in policy
    assert "connect-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy


@pytest.mark.parametrize(
    ("path", "media_type", "marker"),
    [
        ("/console/console.js", "text/javascript; charset=utf-8", "fetch("),
        ("/console/console.css", "text/css; charset=utf-8", "{"),
    ],
)
async def test_the_console_assets_are_served(client, path, media_type, marker):
    response = await client.get(path)

    assert response.status_code == 200
    assert response.headers["content-type"] == media_type
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert marker in response.text


async def test_each_service_api_document_is_reachable_through_the_gateway(client):
    docs = await client.get("/services/identity/docs")
    document = await client.get("/services/identity/openapi.json")
    unknown = await client.get("/services/nosuch/docs")

    assert docs.status_code == 200
    assert "/services/identity/openapi.json" in docs.text
    assert document.status_code == 200
    assert "/api/v1/auth/login" in document.json()["paths"]
    assert unknown.status_code == 404
