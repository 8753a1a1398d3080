"""The result cache (``cache=true``) and ``Idempotency-Key`` on ``POST /execute``."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.helpers import Account, assert_error, register
from tests.services.executor.api.conftest import Execute


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    """The queue's state changes (claims, races, recovery) on both database backends."""
    return str(request.param)


# Prints something different on every run: a reused result is recognisable.
RANDOM = {
    "files": {"main.py": "import uuid\nprint(uuid.uuid4())"},
    "entry": "main.py",
    "wait": True,
}


async def test_an_identical_cached_execution_returns_the_stored_result(execute: Execute) -> None:
    first = (await execute(**RANDOM, cache=True)).json()

    second = await execute(**RANDOM, cache=True)

    assert second.status_code == 200
    data = second.json()["data"]
    assert second.json()["metadata"]["cache_hit"] is True
    assert data["id"] != first["data"]["id"]
    assert data["cache_hit"] is True
    assert data["cached_from"] == first["data"]["id"]
    assert data["result"] == first["data"]["result"]


async def test_without_cache_or_with_different_input_it_runs_again(execute: Execute) -> None:
    first = (await execute(**RANDOM, cache=True)).json()["data"]

    uncached = (await execute(**RANDOM)).json()["data"]
    other_stdin = (await execute(**RANDOM, cache=True, stdin="x")).json()["data"]
    other_limits = (await execute(**RANDOM, cache=True, limits={"cpu_time_s": 4})).json()["data"]

    outputs = {r["result"]["stdout"] for r in (first, uncached, other_stdin, other_limits)}
    assert len(outputs) == 4
    assert not any(r["cache_hit"] for r in (uncached, other_stdin, other_limits))


async def test_the_cache_is_per_tenant(client: httpx.AsyncClient, execute: Execute) -> None:
    await execute(**RANDOM, cache=True)
    stranger = await register(client)

    theirs = (await execute(account=stranger, **RANDOM, cache=True)).json()

    assert theirs["data"]["cache_hit"] is False


async def test_results_that_depend_on_load_are_not_cached(execute: Execute) -> None:
    body = {
        "files": {"main.py": "import time\ntime.sleep(5)"},
        "entry": "main.py",
        "limits": {"wall_time_s": 0.3},
        "wait": True,
        "cache": True,
    }
    first = (await execute(**body)).json()["data"]
    assert first["verdict"] == "wall_time_limit"

    second = (await execute(**body)).json()["data"]

    assert second["cache_hit"] is False


async def test_a_retry_with_the_same_idempotency_key_returns_the_same_execution(
    execute: Execute, client: httpx.AsyncClient, owner: Account
) -> None:
    key = {"Idempotency-Key": "step-42-attempt"}
    first = await execute(**RANDOM, headers=key)

    retry = await execute(**RANDOM, headers=key)

    assert retry.status_code == 200
    assert retry.json()["data"] == first.json()["data"]
    assert retry.json()["metadata"]["replayed"] is True
    listed = await client.get("/api/v1/executions", headers=owner.headers)
    assert len(listed.json()["data"]) == 1


async def test_concurrent_retries_create_one_execution(
    execute: Execute, client: httpx.AsyncClient, owner: Account
) -> None:
    key = {"Idempotency-Key": "concurrent"}

    responses = await asyncio.gather(*(execute(**RANDOM, headers=key) for _ in range(5)))

    assert {r.status_code for r in responses} == {200}
    assert len({r.json()["data"]["id"] for r in responses}) == 1
    assert len({r.json()["data"]["result"]["stdout"] for r in responses}) == 1
    listed = await client.get("/api/v1/executions", headers=owner.headers)
    assert len(listed.json()["data"]) == 1


async def test_the_same_key_with_another_body_is_409(execute: Execute) -> None:
    key = {"Idempotency-Key": "reused"}
    first = (await execute(**RANDOM, headers=key)).json()["data"]

    response = await execute(**{**RANDOM, "args": ["different"]}, headers=key)

    error = assert_error(response, 409, "CONFLICT")
    assert error["details"]["execution_id"] == first["id"]


async def test_idempotency_keys_are_per_tenant(client: httpx.AsyncClient, execute: Execute) -> None:
    key = {"Idempotency-Key": "shared-name"}
    mine = (await execute(**RANDOM, headers=key)).json()["data"]
    stranger = await register(client)

    theirs = (await execute(account=stranger, **RANDOM, headers=key)).json()["data"]

    assert theirs["id"] != mine["id"]
