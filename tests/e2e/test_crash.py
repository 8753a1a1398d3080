"""Runs survive their orchestrator dying in the middle of ``test``, and do nothing twice.

- All-in-one on SQLite: SIGKILL the one process, start it again.
- Distributed on PostgreSQL + RabbitMQ: every service its own process, two
  orchestrators; SIGKILL the one running the step, the other takes it over.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import databases
from tests.e2e.support import (
    PathRouter,
    Process,
    User,
    all_in_one,
    example,
    sandbox_uid_base,
    sign_up,
)
from tests.events import broker
from tests.helpers import eventually
from tests.runtime.processes import isolated_env

pytestmark = pytest.mark.slow

LEASE_SECONDS = "3"


async def _test_step_running(user: User, run_id: str, seconds: float = 120) -> tuple[dict, str]:
    """The run's test step once its sandbox execution exists, and that execution's id."""

    async def running() -> tuple[dict, str] | None:
        run = await user.run(run_id)
        assert run["state"] not in {"succeeded", "failed", "cancelled"}, run
        step = next(s for s in run["steps"] if s["step"] == "test")
        if step["state"] != "running":
            return None
        task = await user.call("GET", f"/api/v1/tasks/{step['id']}")
        executions = task["checkpoint"].get("executions") or {}
        return (task, executions["tests"]) if "tests" in executions else None

    found: tuple[dict, str] = await eventually(
        running, timeout=seconds, what="the test step's sandbox execution"
    )
    return found


async def _run_events(user: User, run_id: str) -> list[dict[str, Any]]:
    response = await user.http.get(
        f"/api/v1/runs/{run_id}/events", params={"follow": "false"}, headers=user.headers
    )
    events = []
    for line in response.text.splitlines():
        if line.startswith("data: "):
            events.append(json.loads(line[6:]))
    return events


async def _assert_nothing_doubled(user: User, run: dict[str, Any]) -> list[dict[str, Any]]:
    """One artifact, each step succeeded once, generate ran once; the events in order."""
    artifacts = await user.call("GET", "/api/v1/artifacts", params={"run_id": run["id"]})
    assert [a["id"] for a in artifacts] == [run["artifact_id"]]
    events = await _run_events(user, run["id"])
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    succeeded = Counter(e["step"] for e in events if e["type"] == "orchestrator.step.succeeded")
    steps = ("analyze", "generate", "validate", "test", "contract", "package")
    assert succeeded == {s: 1 for s in steps}
    started = Counter(e["step"] for e in events if e["type"] == "orchestrator.step.started")
    assert started["generate"] == started["analyze"] == started["package"] == 1
    assert [e["type"] for e in events].count("orchestrator.run.succeeded") == 1
    return events


async def test_the_all_in_one_process_killed_during_tests_finishes_the_run_after_a_restart(
    tmp_path: Path,
) -> None:
    server = all_in_one(tmp_path, DEVGEN_ORCHESTRATOR_LEASE_SECONDS=LEASE_SECONDS)
    server.start()
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
            user = await sign_up(http)
            started = await user.start_run(requirement=example("library"))
            _, execution_id = await _test_step_running(user, started["id"])
            server.kill()
            server.start()
            run = await user.finished(started["id"], seconds=300)
            assert run["state"] == "succeeded", run["error"]
            assert run["tests"]["all_passed"] is True
            events = await _assert_nothing_doubled(user, run)
            test_events = [e["type"] for e in events if e.get("step") == "test"]
            assert "orchestrator.step.recovered" in test_events
            # The sandbox run the crash interrupted is not trusted: the step ran the tests
            # again (a new attempt, new keys); exactly one run of the tests succeeded.
            executions = await user.call("GET", "/api/v1/executions", params={"limit": 50})
            verdicts = {e["id"]: e["verdict"] for e in executions}
            assert verdicts[execution_id] == "killed"
            # One succeeded run of the tests, and one of the contract check after them.
            succeeded = [key for key, verdict in verdicts.items() if verdict == "succeeded"]
            assert run["tests"]["execution_id"] in succeeded
            assert len(succeeded) == 2
            assert run["tests"]["execution_id"] != execution_id
            records = await user.audit_of(run["id"], until="orchestrator.run.succeeded")
            assert [r["action"] for r in records].count("orchestrator.run.succeeded") == 1
            assert (await user.call("GET", "/api/v1/audit/verify"))["valid"] is True
    finally:
        server.stop()


@pytest.fixture
def distributed(tmp_path: Path) -> Iterator[dict[str, Process]]:
    """Every service its own process on PostgreSQL and RabbitMQ, with two orchestrators."""
    reason = databases.postgres_unreachable_reason()
    if reason:
        pytest.skip(reason)
    broker.require_broker()
    label = uuid.uuid4().hex[:8]
    prefix = broker.unique_prefix(f"e2e-{label}")
    names = [
        "identity",
        "storage",
        "executor",
        "codegen",
        "audit",
        "orchestrator-a",
        "orchestrator-b",
    ]
    processes: dict[str, Process] = {}
    urls: dict[str, str] = {}
    for name in names:
        process = Process(["serve", name.split("-")[0]], {}, tmp_path / name)
        processes[name] = process
        urls[f"DEVGEN_{name.split('-')[0].upper()}_URL"] = process.url
    for index, (name, process) in enumerate(processes.items()):
        process.env = isolated_env(
            tmp_path / name / "data",
            DEVGEN_DATABASE_URL=f"{databases.POSTGRES_SERVER}/devgen_e2e_{label}_{{service}}",
            DEVGEN_DATABASE_POOL_SIZE="5",
            DEVGEN_BUS_URL=broker.AMQP_URL,
            DEVGEN_BUS_PREFIX=prefix,
            DEVGEN_ORCHESTRATOR_LEASE_SECONDS=LEASE_SECONDS,
            DEVGEN_ORCHESTRATOR_POLL_SECONDS="0.2",
            DEVGEN_EXECUTOR_UID_BASE=sandbox_uid_base(index + 1),
            **urls,
        )
    try:
        for process in processes.values():
            process.start()
        yield processes
    finally:
        for process in processes.values():
            process.stop()
        asyncio.run(
            databases.drop_postgres(
                f"{databases.POSTGRES_SERVER}/devgen_e2e_{label}_{{service}}",
                ["identity", "storage", "executor", "codegen", "audit", "orchestrator"],
            )
        )
        with contextlib.suppress(Exception):  # tidying only; another test may be restarting it
            asyncio.run(
                broker.delete_topology(
                    prefix, ["identity", "storage", "executor", "codegen", "audit"]
                )
            )


@pytest.mark.postgres
@pytest.mark.rabbitmq
async def test_a_second_orchestrator_takes_over_when_the_first_is_killed(distributed) -> None:
    first, second = distributed["orchestrator-a"], distributed["orchestrator-b"]
    router = PathRouter(
        {
            "/api/v1/auth": distributed["identity"].url,
            "/api/v1/artifacts": distributed["storage"].url,
            "/api/v1/executions": distributed["executor"].url,
            "/api/v1/audit": distributed["audit"].url,
            "/api/v1/": first.url,
        }
    )
    async with httpx.AsyncClient(transport=router, base_url="http://devgen", timeout=60) as http:
        user = await sign_up(http)
        started = await user.start_run(requirement=example("library"))
        task, execution_id = await _test_step_running(user, started["id"])
        holder = task["attempts"][-1]["worker"]
        pids = {first.process.pid: first, second.process.pid: second}
        victim = pids[int(holder.split(":")[1])]
        survivor = second if victim is first else first
        router.routes["/api/v1/"] = survivor.url
        victim.kill()
        run = await user.finished(started["id"], seconds=300)
        assert run["state"] == "succeeded", run["error"]
        events = await _assert_nothing_doubled(user, run)
        recovered = [e for e in events if e["type"] == "orchestrator.step.recovered"]
        assert ("test", holder) in [(e["step"], e["data"]["previous_worker"]) for e in recovered]
        # The executor lived on: the survivor waited for the same sandbox run.
        assert run["tests"]["execution_id"] == execution_id
        # ... and ran no other test run: the one other execution is the contract check's.
        executions = await user.call("GET", "/api/v1/executions")
        assert execution_id in [e["id"] for e in executions]
        assert len(executions) == 2
        records = await user.audit_of(run["id"], until="orchestrator.run.succeeded")
        assert [r["action"] for r in records].count("orchestrator.run.succeeded") == 1
        assert (await user.call("GET", "/api/v1/audit/verify"))["valid"] is True
