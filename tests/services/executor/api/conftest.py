"""Fixtures of the executor's API tests: a platform with identity and a real executor.

The executor runs the real sandbox (bwrap, mounts, slot uids) with a state
directory of its own per test and a uid range of its own per test process.
Environments are built into one directory shared by every test and every
run on this machine (builds are keyed by content and taken under a file
lock), so ``python-service`` is built at most once.
"""

from __future__ import annotations

import os
import random
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers import Account, eventually, register

# Far from the library tests' range (100 000 + ...), and per test process.
SERVICE_BASE_UID = 2_000_000 + random.Random(os.getpid()).randrange(100_000) * 10
TEST_ENVIRONMENTS = Path("/var/cache/devgen-executor/test-environments")


@pytest.fixture
def platform_services() -> tuple[str, ...]:
    """Identity (for tokens) and the executor."""
    return ("identity", "executor")


@pytest.fixture
def executor_overrides() -> dict[str, str]:
    """Extra ``DEVGEN_*`` settings for the executor; test modules override this fixture."""
    return {}


@pytest.fixture(autouse=True)
def executor_env(
    monkeypatch: pytest.MonkeyPatch, state_dir: Path, executor_overrides: dict[str, str]
) -> dict[str, str]:
    """The executor's settings, read from the environment when its app starts."""
    values = {
        "DEVGEN_SANDBOX": "bwrap",
        "DEVGEN_EXECUTOR_STATE_DIR": str(state_dir),
        "DEVGEN_EXECUTOR_UID_BASE": str(SERVICE_BASE_UID),
        "DEVGEN_EXECUTOR_WORKERS": "2",
        "DEVGEN_EXECUTOR_ENVIRONMENTS_DIR": str(TEST_ENVIRONMENTS),
        **executor_overrides,
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


@pytest.fixture
async def owner(client: httpx.AsyncClient) -> Account:
    """A registered user, owner of their personal tenant."""
    return await register(client)


Execute = Callable[..., Awaitable[httpx.Response]]


@pytest.fixture
def execute(client: httpx.AsyncClient, owner: Account) -> Execute:
    """``await execute(json=..., account=owner, headers=...)``: ``POST /api/v1/execute``."""

    async def post(
        account: Account | None = None, headers: dict[str, str] | None = None, **body: Any
    ) -> httpx.Response:
        who = account or owner
        return await client.post(
            "/api/v1/execute", json=body, headers={**who.headers, **(headers or {})}
        )

    return post


async def _execution(
    client: httpx.AsyncClient, account: Account, execution_id: str
) -> dict[str, Any]:
    response = await client.get(f"/api/v1/executions/{execution_id}", headers=account.headers)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def wait_finished(
    client: httpx.AsyncClient, account: Account, execution_id: str, timeout_s: float = 30
) -> dict[str, Any]:
    """Poll an execution until it finished; return it."""
    return await wait_status(client, account, execution_id, "finished", timeout_s)


async def wait_status(
    client: httpx.AsyncClient,
    account: Account,
    execution_id: str,
    status: str,
    timeout_s: float = 30,
) -> dict[str, Any]:
    """Poll an execution until it reaches ``status``; return it."""
    data: dict[str, Any] = await eventually(
        lambda: _execution(client, account, execution_id),
        until=lambda data: data["status"] == status,
        timeout=timeout_s,
        what=f"execution {execution_id} {status}",
    )
    return data
