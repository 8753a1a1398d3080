"""Restarts: queued executions run after a restart, interrupted ones end ``killed``."""

from __future__ import annotations

import base64
import socket
import subprocess
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx
import pytest

from devgen.kit.db import Database, utcnow
from devgen.kit.settings import Settings
from devgen.runtime.allinone import build_platform
from devgen.services.executor.lease import ORPHANED_REASON, Owner
from devgen.services.executor.models import Execution, ExecutionInput
from devgen.services.executor.sandbox import Limits
from devgen.services.executor.worker import SHUTDOWN_REASON
from tests.helpers import Account, eventually, register
from tests.services.executor.api.conftest import SERVICE_BASE_UID, wait_finished, wait_status
from tests.services.executor.conftest import slot_processes


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    """The queue's state changes (claims, races, recovery) on both database backends."""
    return str(request.param)


SERVICES = ("identity", "executor")


@pytest.fixture
def executor_overrides() -> dict[str, str]:
    return {"DEVGEN_EXECUTOR_WORKERS": "1"}


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The platform started on ``settings`` (its databases persist between uses)."""
    app = build_platform(settings, services=SERVICES, migrate_on_startup=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http


def _dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def _row(tenant_id: uuid.UUID, status: str, **values: object) -> Execution:
    return Execution(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        actor="user:test",
        status=status,
        runtime="python3",
        command=["python3", "main.py"],
        limits=Limits().model_dump(),
        collect=[],
        cache=False,
        cache_key="k",
        request_hash="h",
        created_at=utcnow(),
        **values,
    )


async def test_rows_left_by_a_dead_executor_are_recovered_at_start(settings: Settings) -> None:
    async with running(settings) as client:
        account: Account = await register(client)
    tenant = uuid.UUID(account.tenant_id)
    now = utcnow()
    dead = Owner(socket.gethostname(), _dead_pid(), "1", "gone")
    elsewhere_old = Owner("another-host", 1, "1", "far")
    elsewhere_live = Owner("another-host", 2, "1", "alive")
    queued = _row(tenant, "queued")
    orphan = _row(tenant, "running", owner=str(dead), heartbeat_at=now, started_at=now)
    expired = _row(
        tenant,
        "running",
        owner=str(elsewhere_old),
        heartbeat_at=now - timedelta(minutes=5),
        started_at=now,
    )
    alive = _row(tenant, "running", owner=str(elsewhere_live), heartbeat_at=now, started_at=now)
    database = Database(settings.database.url_for("executor", settings.core.data_dir))
    async with database.transaction() as session:
        session.add_all([queued, orphan, expired, alive])
        await session.flush()
        code = base64.b64encode(b"print('recovered')").decode()
        session.add(ExecutionInput(execution_id=queued.id, files={"main.py": code}, stdin=b""))
    await database.dispose()

    async with running(settings) as client:
        ran = await wait_finished(client, account, str(queued.id))
        killed = [
            (await client.get(f"/api/v1/executions/{row.id}", headers=account.headers)).json()[
                "data"
            ]
            for row in (orphan, expired, alive)
        ]

    assert ran["verdict"] == "succeeded"
    assert ran["result"]["stdout"] == "recovered\n"
    for data in killed[:2]:
        assert data["status"] == "finished"
        assert data["verdict"] == "killed"
        assert data["reason"] == ORPHANED_REASON
    # Another host's execution with a fresh lease is not ours to judge.
    assert killed[2]["status"] == "running"


async def test_a_restart_kills_what_ran_and_runs_what_was_queued(settings: Settings) -> None:
    async with running(settings) as client:
        account = await register(client)
        sleeper = await client.post(
            "/api/v1/execute",
            json={"files": {"main.py": "import time\ntime.sleep(30)"}, "entry": "main.py"},
            headers=account.headers,
        )
        waiting = await client.post(
            "/api/v1/execute",
            json={"files": {"main.py": "print('after the restart')"}, "entry": "main.py"},
            headers=account.headers,
        )
        await wait_status(client, account, sleeper.json()["data"]["id"], "running")
        # Past the claim and inside the sandbox run: the program itself is running.
        await eventually(
            lambda: slot_processes(SERVICE_BASE_UID, 1), what="the sandboxed program to start"
        )

    async with running(settings) as client:
        interrupted = (
            await client.get(
                f"/api/v1/executions/{sleeper.json()['data']['id']}", headers=account.headers
            )
        ).json()["data"]
        ran = await wait_finished(client, account, waiting.json()["data"]["id"])

    assert interrupted["verdict"] == "killed"
    assert interrupted["reason"] == SHUTDOWN_REASON
    assert ran["verdict"] == "succeeded"
    assert ran["result"]["stdout"] == "after the restart\n"


async def test_a_retry_waiting_after_a_restart_gets_the_result_of_the_recovered_run(
    settings: Settings,
) -> None:
    body = {"files": {"main.py": "print('taken over')"}, "entry": "main.py"}
    key = {"Idempotency-Key": f"retry-{uuid.uuid4()}"}
    async with running(settings) as client:
        account = await register(client)
        blocker = await client.post(
            "/api/v1/execute",
            json={"files": {"main.py": "import time\ntime.sleep(30)"}, "entry": "main.py"},
            headers=account.headers,
        )
        await wait_status(client, account, blocker.json()["data"]["id"], "running")
        accepted = await client.post(
            "/api/v1/execute", json=body, headers={**account.headers, **key}
        )
        assert accepted.json()["data"]["status"] == "queued"  # the only worker is busy

    # The next instance takes the queued execution over; the client's retry waits for it.
    async with running(settings) as client:
        retried = await client.post(
            "/api/v1/execute", json={**body, "wait": True}, headers={**account.headers, **key}
        )

    assert retried.status_code == 200, retried.text
    data = retried.json()["data"]
    assert data["id"] == accepted.json()["data"]["id"]
    assert retried.json()["metadata"]["replayed"] is True
    assert (data["status"], data["verdict"]) == ("finished", "succeeded")
    assert data["result"]["stdout"] == "taken over\n"
