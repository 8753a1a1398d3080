"""``GET /api/v1/files``: newest first, filtered, paged by cursor."""

from __future__ import annotations

from tests.helpers import assert_error, register
from tests.services.storage.support import FILES, PNG, stored


async def _names(client, account, **params) -> list[str]:
    response = await client.get(FILES, params=params, headers=account.headers)
    assert response.status_code == 200, response.text
    return [item["name"] for item in response.json()["data"]]


async def _library(client, account) -> dict[str, dict]:
    made = {}
    for name, data, labels in [
        ("report-2024.pdf", b"%PDF-1.4 a", '{"team": "core", "year": "2024"}'),
        ("report-2025.txt", b"words", '{"team": "core", "year": "2025"}'),
        ("photo.png", PNG, '{"team": "design"}'),
        ("100%_done.txt", b"done", "{}"),
    ]:
        made[name] = await stored(client, account, data, filename=name, labels=labels)
    return made


async def test_filters_narrow_the_list(client):
    account = await register(client)
    made = await _library(client, account)
    assert await _names(client, account) == [
        "100%_done.txt",
        "photo.png",
        "report-2025.txt",
        "report-2024.pdf",
    ]
    assert await _names(client, account, name_prefix="report") == [
        "report-2025.txt",
        "report-2024.pdf",
    ]
    assert await _names(client, account, name_prefix="100%") == ["100%_done.txt"]
    assert await _names(client, account, name_prefix="1_0") == []
    assert await _names(client, account, content_type="image/png") == ["photo.png"]
    assert await _names(client, account, label="team=core") == [
        "report-2025.txt",
        "report-2024.pdf",
    ]
    assert await _names(client, account, label=["team=core", "year=2024"]) == ["report-2024.pdf"]
    assert await _names(client, account, label="year") == ["report-2025.txt", "report-2024.pdf"]
    middle = made["report-2025.txt"]["created_at"]
    assert await _names(client, account, created_after=middle) == [
        "100%_done.txt",
        "photo.png",
        "report-2025.txt",
    ]
    assert await _names(client, account, created_before=middle) == ["report-2024.pdf"]


async def test_pages_follow_the_cursor(client):
    account = await register(client)
    await _library(client, account)
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        body = (await client.get(FILES, params=params, headers=account.headers)).json()
        assert body["metadata"]["total"] == 4
        seen += [item["name"] for item in body["data"]]
        cursor = body["metadata"]["next_cursor"]
        if cursor is None:
            break
    assert seen == await _names(client, account)


async def test_bad_filters_are_422(client):
    account = await register(client)
    for params in [
        {"label": "Team=core"},
        {"label": "team=two\nlines"},
        {"created_after": "2024-01-01T00:00:00"},
        {"limit": 0},
        {"cursor": "not-a-cursor"},
        {"label": [f"k{i}" for i in range(11)]},
        {"labels": "team=core"},
    ]:
        response = await client.get(FILES, params=params, headers=account.headers)
        assert_error(response, 422, "VALIDATION_ERROR")
