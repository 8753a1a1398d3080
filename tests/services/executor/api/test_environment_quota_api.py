"""``POST /api/v1/environments`` within a tenant's quota: builds in progress, environments kept.

Builds here stay in progress for as long as a test needs: pip's index is a
local socket that accepts connections and never answers (pip reads with a
long timeout), so "in progress" does not depend on how fast pip is. Each
test builds into its own environments directory.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers import Account, assert_error, eventually, register


@pytest.fixture
def quotas() -> tuple[int, int]:
    """(builds in progress, environments kept) per tenant; tests parametrize it."""
    return (2, 50)


@pytest.fixture
def black_hole_index(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A package index that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/simple"
    monkeypatch.setenv("PIP_INDEX_URL", url)
    monkeypatch.setenv("PIP_DEFAULT_TIMEOUT", "600")
    monkeypatch.setenv("PIP_RETRIES", "0")
    try:
        yield url
    finally:
        listener.close()


@pytest.fixture
def executor_overrides(
    tmp_path: Path, quotas: tuple[int, int], black_hole_index: str
) -> dict[str, str]:
    """Quotas, and an environments directory of this test's own."""
    builds, environments = quotas
    return {
        "DEVGEN_EXECUTOR_ENVIRONMENTS_DIR": str(tmp_path / "environments"),
        "DEVGEN_EXECUTOR_TENANT_BUILDS": str(builds),
        "DEVGEN_EXECUTOR_TENANT_ENVIRONMENTS": str(environments),
    }


def _packages(number: int) -> dict[str, list[str]]:
    """A package set of its own (its own build key) per number."""
    return {"packages": [f"iniconfig!=0.0.{number}"]}


async def _create(client: httpx.AsyncClient, account: Account, number: int) -> httpx.Response:
    return await client.post(
        "/api/v1/environments", json=_packages(number), headers=account.headers
    )


async def _own_environments(client: httpx.AsyncClient, account: Account) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/environments", headers=account.headers)
    assert response.status_code == 200, response.text
    return [item for item in response.json()["data"] if not item["builtin"]]


def _build_keys(environments_dir: Path) -> set[str]:
    """The builds started on disk (``<key>.lock`` and ``<key>/``)."""
    if not environments_dir.exists():
        return set()
    return {entry.name.split(".")[0] for entry in environments_dir.iterdir()}


async def _until_on_disk(environments_dir: Path, count: int) -> None:
    await eventually(
        lambda: _build_keys(environments_dir),
        until=lambda keys: len(keys) >= count,
        what=f"{count} builds on disk",
    )


async def test_a_tenant_at_its_build_quota_is_refused_and_nothing_is_created(
    client: httpx.AsyncClient, owner: Account, tmp_path: Path
) -> None:
    first = await _create(client, owner, 1)
    second = await _create(client, owner, 2)
    third = await _create(client, owner, 3)

    assert (first.status_code, second.status_code) == (201, 201), (first.text, second.text)
    assert first.json()["data"]["status"] == second.json()["data"]["status"] == "building"
    error = assert_error(third, 429, "QUOTA_EXCEEDED")
    assert error["details"] == {
        "quota": "builds",
        "limit": 2,
        "current": 2,
        "retry_after_seconds": 10,
    }
    assert third.headers["Retry-After"] == "10"
    listed = await _own_environments(client, owner)
    assert sorted(item["id"] for item in listed) == sorted(
        r.json()["data"]["id"] for r in (first, second)
    )
    # Both refused-for builds of the accepted two reach the disk; the third never does.
    await _until_on_disk(tmp_path / "environments", 2)
    assert len(_build_keys(tmp_path / "environments")) == 2
    # Asking again for a set it has (still building) starts nothing: not refused.
    again = await _create(client, owner, 1)
    assert again.status_code == 200, again.text
    assert again.json()["data"]["id"] == first.json()["data"]["id"]


async def test_another_tenant_is_not_held_back_by_one_at_its_quota(
    client: httpx.AsyncClient, owner: Account
) -> None:
    for number in (1, 2):
        assert (await _create(client, owner, number)).status_code == 201
    assert_error(await _create(client, owner, 3), 429, "QUOTA_EXCEEDED")
    stranger = await register(client)

    theirs = await _create(client, stranger, 3)

    assert theirs.status_code == 201, theirs.text
    assert [item["packages"] for item in await _own_environments(client, stranger)] == [
        ["iniconfig!=0.0.3"]
    ]
    # ...and the first tenant still sees only its own two.
    assert len(await _own_environments(client, owner)) == 2


async def test_concurrent_requests_cannot_overshoot_the_build_quota(
    client: httpx.AsyncClient, owner: Account, tmp_path: Path
) -> None:
    responses = await asyncio.gather(*(_create(client, owner, n) for n in range(10, 18)))

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201, 201] + [429] * 6, [r.text for r in responses]
    assert len(await _own_environments(client, owner)) == 2
    await _until_on_disk(tmp_path / "environments", 2)
    assert len(_build_keys(tmp_path / "environments")) == 2


@pytest.mark.parametrize("quotas", [(10, 2)])
async def test_a_tenant_keeps_no_more_environments_than_its_quota(
    client: httpx.AsyncClient, owner: Account
) -> None:
    kept = [await _create(client, owner, number) for number in (1, 2)]
    over = await _create(client, owner, 3)

    assert [response.status_code for response in kept] == [201, 201]
    error = assert_error(over, 409, "QUOTA_EXCEEDED")
    assert error["details"] == {"quota": "environments", "limit": 2, "current": 2}
    assert len(await _own_environments(client, owner)) == 2
    # What it has stays usable, and built-in environments never count.
    assert (await _create(client, owner, 1)).status_code == 200
    builtin = await client.get("/api/v1/environments/python-service", headers=owner.headers)
    assert builtin.status_code == 200
    listed = await client.get("/api/v1/environments", headers=owner.headers)
    assert listed.json()["metadata"]["total"] == 2
    # Another tenant has a quota of its own.
    stranger = await register(client)
    assert (await _create(client, stranger, 3)).status_code == 201
