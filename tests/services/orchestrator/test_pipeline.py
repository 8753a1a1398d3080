"""The pipeline with the real services in process: codegen, the executor's sandbox, storage.

Each test that reaches ``test`` runs a generated suite in the sandbox, so the
requirements here are small (one entity); the examples run in ``tests/e2e``.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import random
import zipfile
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from devgen.kit.settings import Settings
from devgen.runtime.allinone import build_platform
from devgen.services.orchestrator.settings import OrchestratorSettings
from tests.deploy.observability import (
    alert_rules,
    collector_of,
    dashboard_queries,
    metric_names_in,
)
from tests.helpers import Account, assert_error, eventually, register
from tests.llm_standin import LLMStandIn, replies
from tests.llm_standin.server import configure_codegen
from tests.services.codegen.llm_support import BROKEN_MAIN, MAIN, project_replies

UID_BASE = 6_000_000 + random.Random(os.getpid()).randrange(10_000) * 100
SMALL = "A notebook app keeps notes. Each note has a title and a body."
TERMINAL = {"succeeded", "failed", "cancelled"}

pytestmark = pytest.mark.slow


@pytest.fixture
def platform_services() -> tuple[str, ...]:
    """Everything the default workflow calls."""
    return ("identity", "codegen", "executor", "storage", "orchestrator")


@pytest.fixture(autouse=True)
def _settings_read_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    # Small enough that every generated project goes to storage by reference.
    monkeypatch.setenv("DEVGEN_ORCHESTRATOR_INLINE_OUTPUT_BYTES", "4096")
    # Slot uids of their own: other test processes may run sandboxes on this machine.
    monkeypatch.setenv("DEVGEN_EXECUTOR_UID_BASE", str(UID_BASE))


@pytest.fixture
def standin(monkeypatch: pytest.MonkeyPatch) -> LLMStandIn:
    """A stand-in LLM that codegen is configured to use (read when the platform starts)."""
    with LLMStandIn() as server:
        configure_codegen(
            monkeypatch,
            server,
            {
                "DEVGEN_LLM_PRICE_INPUT_PER_1K": "0.001",
                "DEVGEN_LLM_PRICE_OUTPUT_PER_1K": "0.002",
            },
        )
        yield server


@pytest.fixture
async def platform(
    settings: Settings, platform_services: tuple[str, ...], standin: LLMStandIn
) -> AsyncIterator[FastAPI]:
    """The platform, started once the LLM settings are in the environment."""
    app = build_platform(settings, services=platform_services, migrate_on_startup=False)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def owner(client: httpx.AsyncClient) -> Account:
    """A signed-in tenant owner."""
    return await register(client)


async def _start(client: httpx.AsyncClient, account: Account, **body) -> dict:
    # A model is configured here, so the default would be the hybrid engine.
    body.setdefault("engine", "template")
    response = await client.post("/api/v1/runs", json=body, headers=account.headers)
    assert response.status_code == 202, response.text
    return response.json()["data"]


async def _run(client: httpx.AsyncClient, account: Account, run_id: str) -> dict:
    return (await client.get(f"/api/v1/runs/{run_id}", headers=account.headers)).json()["data"]


async def _finished(client: httpx.AsyncClient, account: Account, run_id: str, seconds=240) -> dict:
    return await eventually(
        lambda: _run(client, account, run_id),
        until=lambda run: run["state"] in TERMINAL,
        timeout=seconds,
        what=f"run {run_id} finished",
    )


def _steps(run: dict) -> dict[str, dict]:
    return {step["step"]: step for step in run["steps"]}


async def _outputs_of(client: httpx.AsyncClient, account: Account, run_id: str) -> list[dict]:
    response = await client.get(
        "/api/v1/files", params={"label": f"devgen-run={run_id}"}, headers=account.headers
    )
    assert response.status_code == 200, response.text
    return response.json()["data"]


async def _assert_outputs_removed(client: httpx.AsyncClient, account: Account, run: dict) -> None:
    """Once the run has ended, storage holds none of its step outputs any more."""
    await eventually(
        lambda: _outputs_of(client, account, run["id"]),
        until=lambda found: found == [],
        timeout=30,
        what=f"the step outputs of run {run['id']} deleted",
    )


async def test_a_requirement_the_analyst_cannot_read_fails_at_analyze(client, owner):
    run = await _start(client, owner, requirement="Make me something nice, quickly!")
    done = await _finished(client, owner, run["id"], seconds=30)
    assert done["state"] == "failed"
    assert done["error"]["step"] == "analyze"
    assert done["error"]["code"] == "ANALYSIS_FAILED"
    assert "Each book has" in done["error"]["message"] or "entit" in done["error"]["message"]
    steps = _steps(done)
    assert steps["analyze"]["attempt"] == 1  # the analyst's verdict is not retried
    assert {steps[s]["state"] for s in ("generate", "test", "package")} == {"skipped"}


async def test_with_a_model_configured_runs_and_projects_default_to_the_hybrid_engine(
    client, owner
):
    started = await client.post("/api/v1/runs", json={"requirement": SMALL}, headers=owner.headers)
    assert started.status_code == 202, started.text
    run = started.json()["data"]
    assert run["engine"] == "hybrid"
    cancelled = await client.post(f"/api/v1/runs/{run['id']}/cancel", headers=owner.headers)
    assert cancelled.status_code in (200, 202), cancelled.text
    project = await client.post(
        "/api/v1/projects", json={"name": "notes", "requirement": SMALL}, headers=owner.headers
    )
    assert project.status_code == 201, project.text
    assert project.json()["data"]["engine"] == "hybrid"
    named = await _start(client, owner, requirement=SMALL, engine="template")
    assert named["engine"] == "template"
    await client.post(f"/api/v1/runs/{named['id']}/cancel", headers=owner.headers)


async def test_the_llm_engine_repairs_a_failing_test(client, owner, standin):
    # The engineer's first project doubles wrongly; the failure names only the test file,
    # so the architect picks the file to fix, and the engineer's second answer fixes it.
    standin.script(
        *project_replies(BROKEN_MAIN),
        replies.json_answer({"files": ["app/main.py"]}),
        replies.fenced(MAIN),
    )
    run = await _start(
        client, owner, requirement=SMALL, engine="llm", budget={"max_tokens": 200_000}
    )
    done = await _finished(client, owner, run["id"])
    assert done["state"] == "succeeded", done["error"]
    steps = _steps(done)
    assert steps["test"]["state"] == "succeeded"
    assert steps["test"]["output"]["passed"] is False
    assert steps["repair"]["state"] == "succeeded"
    assert done["tests"]["all_passed"] is True
    assert done["tests"]["step"] == "repair"
    repair_prompt = standin.requests[-1].prompt
    assert "test_item_is_doubled" in repair_prompt
    assert done["usage"]["total_tokens"] > 0
    assert done["usage"]["cost_usd"] > 0
    report = await _report(client, owner, done)
    assert [r["passed"] for r in report["repair"]["rounds"]] == [True]
    assert report["engine"]["engine"] == "llm"


async def test_a_server_error_the_contract_check_finds_fails_the_run(client, owner, standin):
    # The project's own tests pass (they never ask for item 0), but item 0 divides by zero.
    standin.script(*project_replies(MAIN.replace("item_id * 2", "item_id * 2 + 0 // item_id")))
    run = await _start(
        client, owner, requirement=SMALL, engine="llm", budget={"max_tokens": 200_000}
    )
    done = await _finished(client, owner, run["id"])
    assert done["state"] == "failed"
    assert done["tests"]["all_passed"] is True
    assert done["error"]["code"] == "CONTRACT_SERVER_ERROR"
    assert "GET /items/{item_id}" in done["error"]["message"]
    # The artifact stays, as the report of what went wrong.
    contract = (await _report(client, owner, done))["contract"]
    assert contract["server_errors"] > 0
    assert contract["server_error_operations"] == ["GET /items/{item_id}"]
    assert contract["passed"] is False


async def test_a_repair_checks_the_contract_of_the_project_it_hands_over(client, owner, standin):
    # The first project fails a test and divides by zero on item 0 (the contract step, run
    # beside the tests, sees the server error); the repaired one fixes both. The run is
    # judged and packaged on the repaired project's contract, checked again by repair.
    first = BROKEN_MAIN.replace("item_id * 3", "item_id * 3 + 0 // item_id")
    standin.script(
        *project_replies(first),
        replies.json_answer({"files": ["app/main.py"]}),
        replies.fenced(MAIN),
    )
    run = await _start(
        client, owner, requirement=SMALL, engine="llm", budget={"max_tokens": 200_000}
    )
    done = await _finished(client, owner, run["id"])
    assert done["state"] == "succeeded", done["error"]
    steps = _steps(done)
    assert steps["contract"]["output"]["contract_verdict"]["server_errors"] > 0
    rechecked = steps["repair"]["output"]["contract_verdict"]
    assert rechecked == {"server_errors": 0, "server_error_operations": []}
    contract = (await _report(client, owner, done))["contract"]
    assert contract["server_errors"] == 0
    assert contract["passed"] is True


async def test_a_budget_too_low_stops_the_run_with_a_clear_error(client, owner, standin):
    run = await _start(client, owner, requirement=SMALL, engine="llm", budget={"max_tokens": 300})
    done = await _finished(client, owner, run["id"], seconds=60)
    assert done["state"] == "failed"
    assert done["error"]["step"] == "generate"
    assert done["error"]["code"] == "BUDGET_EXCEEDED"
    assert "budget" in done["error"]["message"].lower()
    assert _steps(done)["generate"]["attempt"] == 1
    assert standin.requests == []  # no call the budget could not cover was made


async def _report(client: httpx.AsyncClient, account: Account, run: dict) -> dict:
    response = await client.get(
        f"/api/v1/artifacts/{run['artifact_id']}/files/report.json", headers=account.headers
    )
    assert response.status_code == 200, response.text
    return json.loads(response.content)


async def test_a_template_run_stores_the_project_and_its_report(client, owner):
    run = await _start(client, owner, requirement=SMALL)
    done = await _finished(client, owner, run["id"])
    assert done["state"] == "succeeded", done["error"]
    assert done["tests"]["all_passed"] is True
    assert done["artifact_url"] == f"/api/v1/artifacts/{done['artifact_id']}/download"
    download = await client.get(done["artifact_url"], headers=owner.headers)
    assert download.status_code == 200
    names = zipfile.ZipFile(io.BytesIO(download.content)).namelist()
    assert {"app/main.py", "REPORT.md", "report.json"} <= set(names)
    report = await _report(client, owner, done)
    assert report["tests"]["all_passed"] is True
    # (The run's own summary has no counts here: this test_run went to storage by reference.)
    assert report["tests"]["summary"]["total"] > 5
    assert report["criteria_summary"]["failed"] == 0
    assert report["criteria_summary"]["passed"] > 0
    assert all(t["outcome"] == "passed" for c in report["acceptance_criteria"] for t in c["tests"])
    assert report["coverage"]["percent"] > 80
    assert {t["step"] for t in report["timings"]} >= {"analyze", "generate", "validate", "test"}
    # schemathesis ran against the service in the sandbox and found nothing off its OpenAPI.
    assert _steps(done)["contract"]["state"] == "succeeded"
    contract = report["contract"]
    assert contract["passed"] is True, contract["failures"]
    assert contract["failure_count"] == contract["server_errors"] == 0
    assert contract["phases"]["stateful"] == "success"
    assert contract["phases"]["coverage"] == "success"
    assert {"not_a_server_error", "positive_data_acceptance"} <= set(contract["checks"])
    assert contract["test_cases"]["generated"] > 0
    # Its phases were shared out over processes, given a core each.
    execution = await client.get(
        f"/api/v1/executions/{contract['execution_id']}", headers=owner.headers
    )
    processes = OrchestratorSettings().orchestrator_contract_processes
    assert execution.json()["data"]["limits"]["cpus"] == processes
    markdown = await client.get(
        f"/api/v1/artifacts/{done['artifact_id']}/files/REPORT.md", headers=owner.headers
    )
    assert "## API contract" in markdown.text
    assert contract["summary_line"] in markdown.text
    # The generated files were kept in storage while the run lasted (the step's row
    # holds a reference); once it ended they were deleted, and the artifact stays.
    generate = _steps(done)["generate"]
    detail = await client.get(f"/api/v1/tasks/{generate['id']}", headers=owner.headers)
    reference = detail.json()["data"]["output"]["files"]
    assert reference["$ref"] == "storage:file"
    await _assert_outputs_removed(client, owner, done)
    stored = await client.get(f"/api/v1/files/{reference['file_id']}", headers=owner.headers)
    assert_error(stored, 404)
    kept = await client.get(done["artifact_url"], headers=owner.headers)
    assert kept.status_code == 200


async def test_cancelling_during_the_tests_stops_the_sandbox_run(client, owner):
    run = await _start(client, owner, requirement=SMALL)

    async def tests_execution() -> str | None:
        task = _steps(await _run(client, owner, run["id"]))["test"]
        detail = (await client.get(f"/api/v1/tasks/{task['id']}", headers=owner.headers)).json()
        return (detail["data"]["checkpoint"].get("executions") or {}).get("tests")

    execution_id = await eventually(
        tests_execution, timeout=120, what="the test step's execution to start"
    )
    cancelled = await client.post(f"/api/v1/runs/{run['id']}/cancel", headers=owner.headers)
    assert cancelled.status_code == 202, cancelled.text
    done = await _finished(client, owner, run["id"], seconds=60)
    assert done["state"] == "cancelled"
    assert _steps(done)["test"]["state"] == "cancelled"
    assert {_steps(done)[s]["state"] for s in ("repair", "package")} == {"cancelled"}
    execution = await _execution_finished(client, owner, execution_id)
    assert execution["verdict"] == "killed"
    await _assert_outputs_removed(client, owner, done)
    assert "cancel" in (execution["reason"] or "")


async def _execution_finished(client, account, execution_id: str) -> dict:
    async def execution() -> dict:
        response = await client.get(f"/api/v1/executions/{execution_id}", headers=account.headers)
        return response.json()["data"]

    return await eventually(
        execution,
        until=lambda data: data["status"] == "finished",
        what="the execution to stop",
    )


async def test_two_tenants_run_at_once_and_each_sees_only_its_own(client):
    first, second = await register(client), await register(client)
    runs = await asyncio.gather(
        _start(client, first, requirement=SMALL), _start(client, second, requirement=SMALL)
    )
    done = await asyncio.gather(
        _finished(client, first, runs[0]["id"]), _finished(client, second, runs[1]["id"])
    )
    assert [d["state"] for d in done] == ["succeeded", "succeeded"], [d["error"] for d in done]
    for account, mine, theirs in ((first, done[0], done[1]), (second, done[1], done[0])):
        listed = (await client.get("/api/v1/runs", headers=account.headers)).json()["data"]
        assert [r["id"] for r in listed] == [mine["id"]]
        assert_error(await client.get(f"/api/v1/runs/{theirs['id']}", headers=account.headers), 404)
        assert_error(
            await client.get(f"/api/v1/artifacts/{theirs['artifact_id']}", headers=account.headers),
            404,
        )


async def test_cancelling_after_packaging_removes_the_artifact(client, owner):
    workflow = await client.post(
        "/api/v1/workflows",
        json={
            "name": "package first",
            "steps": [
                {"id": "analyze", "type": "analyze"},
                {"id": "generate", "type": "generate", "needs": ["analyze"]},
                {
                    "id": "package",
                    "type": "package",
                    "needs": ["generate"],
                    "compensation": "delete_artifacts",
                },
                {"id": "test", "type": "test", "needs": ["package"]},
            ],
        },
        headers=owner.headers,
    )
    assert workflow.status_code == 201, workflow.text
    started = await client.post(
        f"/api/v1/workflows/{workflow.json()['data']['id']}/execute",
        json={"requirement": SMALL},
        headers=owner.headers,
    )
    run = started.json()["data"]
    await eventually(
        lambda: _run(client, owner, run["id"]),
        until=lambda current: _steps(current)["test"]["state"] == "running",
        timeout=120,
        what="the test step to run",
    )
    stored = await client.get(f"/api/v1/artifacts?run_id={run['id']}", headers=owner.headers)
    assert len(stored.json()["data"]) == 1
    await client.post(f"/api/v1/runs/{run['id']}/cancel", headers=owner.headers)
    done = await _finished(client, owner, run["id"], seconds=60)
    assert done["state"] == "cancelled"
    assert [(c["step"], c["state"]) for c in done["compensations"]] == [
        ("compensate:package", "succeeded")
    ]
    assert done["artifact_id"] is None
    left = await client.get(f"/api/v1/artifacts?run_id={run['id']}", headers=owner.headers)
    assert left.json()["data"] == []


async def test_after_a_run_metrics_export_every_name_the_dashboards_and_alerts_query(
    client, owner, standin
):
    standin.script(
        *project_replies(BROKEN_MAIN),
        replies.json_answer({"files": ["app/main.py"]}),
        replies.fenced(MAIN),
    )
    run = await _start(
        client, owner, requirement=SMALL, engine="llm", budget={"max_tokens": 200_000}
    )
    done = await _finished(client, owner, run["id"])
    assert done["state"] == "succeeded", done["error"]
    response = await client.get("/metrics")
    assert response.status_code == 200
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }
    names = {name for name, _ in samples}

    def value(name: str, **labels: str) -> float:
        return sum(
            v for (n, ls), v in samples.items() if n == name and labels.items() <= dict(ls).items()
        )

    # What the run did is counted.
    assert value("devgen_runs_started_total") >= 1
    assert value("devgen_runs_finished_total", state="succeeded") >= 1
    assert value("devgen_run_duration_seconds_count", state="succeeded") >= 1
    assert value("devgen_steps_finished_total", type="repair", state="succeeded") >= 1
    assert value("devgen_step_duration_seconds_count", type="test", state="succeeded") >= 1
    assert value("devgen_sandbox_verdicts_total") >= 2  # the failing tests, then the repaired
    assert value("devgen_llm_tokens_total", direction="input") > 0
    assert value("devgen_llm_tokens_total", direction="output") > 0
    assert value("devgen_llm_cost_usd_total") > 0
    assert "devgen_executor_queue_depth" in names
    assert "devgen_events_outbox_lag_seconds" in names
    # Every metric a dashboard panel or an alert queries is one this platform exports.
    queried = metric_names_in(
        "\n".join([rule["expr"] for rule in alert_rules()] + dashboard_queries())
    )
    assert "devgen_runs_finished_total" in queried  # a positive control for the scan
    unexported = {name for name in queried if name not in names and f"{name}_total" not in names}
    # Families that have no sample until something happens (a dead letter, a breaker
    # change) still show their HELP line, which the parser keeps as the family name.
    families = {family.name for family in text_string_to_metric_families(response.text)}
    unexported = {name for name in unexported if collector_of(name) not in families}
    assert not unexported, f"queried but not exported: {sorted(unexported)}"


async def test_a_given_spec_reaches_the_analyst_as_an_object(client, owner):
    spec = {
        "name": "notes",
        "entities": [{"name": "note", "fields": [{"name": "title", "type": "string"}],
                      "rules": [{"kind": "range", "id": "note.range.1", "field": "title"}]}],
    }  # fmt: skip

    run = await _start(client, owner, spec=spec)
    done = await _finished(client, owner, run["id"], seconds=30)

    assert done["error"]["step"] == "analyze"
    assert done["error"]["code"] == "INVALID_SPEC"
    paths = [p["path"] for p in done["error"]["details"]["problems"]]
    assert paths == ["entities[0].rules[0].field"]


async def test_the_analyze_step_says_what_will_and_will_not_be_built(client, owner):
    requirement = SMALL + " Notes are timestamped. Notes are printed every Friday."
    run = await _start(client, owner, requirement=requirement)

    analyzed = await eventually(
        lambda: _run(client, owner, run["id"]),
        until=lambda current: _steps(current)["analyze"]["state"] in TERMINAL,
        timeout=30,
        what="the analyze step ended",
    )
    step = _steps(analyzed)["analyze"]
    task = await client.get(f"/api/v1/tasks/{step['id']}", headers=owner.headers)
    await client.post(f"/api/v1/runs/{run['id']}/cancel", json={}, headers=owner.headers)

    output = task.json()["data"]["output"]
    assert [r["kind"] for r in output["will_build"]["rules"]] == [
        "managed:created_at",
        "managed:updated_at",
    ]
    assert [n["sentence"] for n in output["not_implemented"]] == ["Notes are printed every Friday"]
    await _finished(client, owner, run["id"])
