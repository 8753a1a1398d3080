"""The bounded pool and queue, the per-tenant quota, and cancelling."""

from __future__ import annotations

import httpx
import pytest

from tests.helpers import Account, assert_error, eventually, register
from tests.services.executor.api.conftest import (
    SERVICE_BASE_UID,
    Execute,
    wait_finished,
    wait_status,
)
from tests.services.executor.conftest import slot_processes


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    """The queue's state changes (claims, races, recovery) on both database backends."""
    return str(request.param)


# Sleeps until killed or 20 s pass; prints first so a test can see it started.
SLEEPER = {
    "files": {"main.py": "import time\nprint('started', flush=True)\ntime.sleep(20)"},
    "entry": "main.py",
    "limits": {"wall_time_s": 30},
}
QUICK = {"files": {"main.py": "print('quick')"}, "entry": "main.py"}


@pytest.fixture
def executor_overrides() -> dict[str, str]:
    return {
        "DEVGEN_EXECUTOR_WORKERS": "2",
        "DEVGEN_EXECUTOR_QUEUE_SIZE": "1",
        "DEVGEN_EXECUTOR_TENANT_CONCURRENCY": "1",
        "DEVGEN_EXECUTOR_TENANT_QUEUE": "1",
    }


async def _cancel(client: httpx.AsyncClient, account: Account, execution_id: str) -> httpx.Response:
    return await client.post(f"/api/v1/executions/{execution_id}/cancel", headers=account.headers)


async def test_a_full_queue_answers_429_with_retry_after(
    client: httpx.AsyncClient, owner: Account, execute: Execute
) -> None:
    # Tenant quota 1 running + 1 queued: the third is refused.
    running = (await execute(**SLEEPER)).json()["data"]["id"]
    queued = (await execute(**SLEEPER)).json()["data"]["id"]
    await wait_status(client, owner, running, "running")

    refused = await execute(**QUICK)

    error = assert_error(refused, 429, "RATE_LIMITED")
    assert int(refused.headers["retry-after"]) >= 1
    assert error["details"]["retry_after_seconds"] == int(refused.headers["retry-after"])
    assert (await _cancel(client, owner, queued)).json()["data"]["verdict"] == "killed"
    assert (await _cancel(client, owner, running)).json()["data"]["verdict"] == "killed"
    listed = (await client.get("/api/v1/executions", headers=owner.headers)).json()
    assert {e["id"] for e in listed["data"]} == {running, queued}


async def test_the_global_queue_bound_applies_across_tenants(
    client: httpx.AsyncClient, owner: Account, execute: Execute
) -> None:
    others = [await register(client) for _ in range(3)]
    # Two workers busy (two tenants), one queued (a third tenant): pool + queue is full.
    ids = [(await execute(account=a, **SLEEPER)).json()["data"]["id"] for a in (owner, *others[:2])]

    refused = await execute(account=others[2], **QUICK)

    assert_error(refused, 429, "RATE_LIMITED")
    for account, execution_id in zip((owner, *others[:2]), ids, strict=True):
        await _cancel(client, account, execution_id)


async def test_a_tenant_at_its_quota_waits_while_others_run(
    client: httpx.AsyncClient, owner: Account, execute: Execute
) -> None:
    first = (await execute(**SLEEPER)).json()["data"]["id"]
    second = (await execute(**QUICK)).json()["data"]["id"]
    other = await register(client)
    await wait_status(client, owner, first, "running")

    # The other tenant runs at once on the free worker, while ours waits its turn.
    response = await execute(account=other, **QUICK, wait=True)
    assert response.json()["data"]["verdict"] == "succeeded"
    waiting = await client.get(f"/api/v1/executions/{second}", headers=owner.headers)
    assert waiting.json()["data"]["status"] == "queued"

    await _cancel(client, owner, first)
    assert (await wait_finished(client, owner, second))["verdict"] == "succeeded"


async def test_cancelling_a_running_execution_kills_it(
    client: httpx.AsyncClient, owner: Account, execute: Execute
) -> None:
    execution_id = (await execute(**SLEEPER)).json()["data"]["id"]
    await wait_status(client, owner, execution_id, "running")
    # "running" is set as the worker takes it: wait for the sandboxed program itself.
    await eventually(
        lambda: slot_processes(SERVICE_BASE_UID, 2), what="the sandboxed program to start"
    )

    response = await _cancel(client, owner, execution_id)

    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["status"] == "finished"
    assert data["verdict"] == "killed"
    assert data["reason"] == f"cancelled by user:{owner.user_id}"
    assert data["result"]["wall_time_s"] < 20  # it did not sleep to its end


async def test_cancelling_a_queued_execution_means_it_never_runs(
    client: httpx.AsyncClient, owner: Account, execute: Execute
) -> None:
    running = (await execute(**SLEEPER)).json()["data"]["id"]
    queued = (await execute(**QUICK)).json()["data"]["id"]

    response = await _cancel(client, owner, queued)

    data = response.json()["data"]
    assert data["verdict"] == "killed"
    assert data["started_at"] is None
    assert data["result"] is None
    assert data["reason"].endswith("before it started")
    await _cancel(client, owner, running)


async def test_cancelling_a_finished_execution_is_409(
    client: httpx.AsyncClient, owner: Account, execute: Execute
) -> None:
    execution_id = (await execute(**QUICK, wait=True)).json()["data"]["id"]

    error = assert_error(await _cancel(client, owner, execution_id), 409, "CONFLICT")

    assert error["details"]["verdict"] == "succeeded"
