"""``GET /api/v1/executions``: newest first, filtered, paginated by cursor."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from tests.helpers import Account, assert_error
from tests.services.executor.api.conftest import Execute


async def _make_three(execute: Execute) -> list[dict]:
    made = []
    for code in ("print(1)", "raise SystemExit(1)", "print(3)"):
        response = await execute(files={"main.py": code}, entry="main.py", wait=True)
        made.append(response.json()["data"])
    return made


async def test_lists_newest_first_without_output(
    client: httpx.AsyncClient, owner: Account, execute: Execute
) -> None:
    made = await _make_three(execute)

    listed = (await client.get("/api/v1/executions", headers=owner.headers)).json()

    assert [e["id"] for e in listed["data"]] == [m["id"] for m in reversed(made)]
    assert "result" not in listed["data"][0]
    assert listed["metadata"]["total"] == 3


async def test_filters_by_verdict_status_and_creation_time(
    client: httpx.AsyncClient, owner: Account, execute: Execute
) -> None:
    made = await _make_three(execute)

    async def ids(query: str) -> list[str]:
        response = await client.get(f"/api/v1/executions?{query}", headers=owner.headers)
        assert response.status_code == 200, response.text
        return [e["id"] for e in response.json()["data"]]

    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    assert await ids("verdict=failed") == [made[1]["id"]]
    assert len(await ids("status=finished")) == 3
    assert await ids("status=queued") == []
    assert await ids(f"created_after={future}") == []
    assert len(await ids(f"created_before={future}")) == 3
    middle = made[1]["created_at"].replace("+00:00", "Z")
    assert await ids(f"created_after={middle}") == [made[2]["id"], made[1]["id"]]


async def test_pages_follow_the_cursor(
    client: httpx.AsyncClient, owner: Account, execute: Execute
) -> None:
    made = await _make_three(execute)

    first = (await client.get("/api/v1/executions?limit=2", headers=owner.headers)).json()
    cursor = first["metadata"]["next_cursor"]
    second = (
        await client.get(f"/api/v1/executions?limit=2&cursor={cursor}", headers=owner.headers)
    ).json()

    seen = [e["id"] for e in first["data"] + second["data"]]
    assert seen == [m["id"] for m in reversed(made)]
    assert second["metadata"]["next_cursor"] is None


async def test_unknown_filter_values_are_422(client: httpx.AsyncClient, owner: Account) -> None:
    for query in ("status=exploded", "verdict=maybe", "created_after=yesterday", "cursor=%%%"):
        response = await client.get(f"/api/v1/executions?{query}", headers=owner.headers)
        assert_error(response, 422, "VALIDATION_ERROR")


async def test_an_unknown_query_parameter_is_422_not_ignored(
    client: httpx.AsyncClient, owner: Account
) -> None:
    response = await client.get("/api/v1/executions?stauts=failed", headers=owner.headers)

    error = assert_error(response, 422, "VALIDATION_ERROR")
    assert error["details"]["errors"][0]["location"] == "query.stauts"
