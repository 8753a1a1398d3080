"""A run asking for the LLM engine where none is configured fails at once, with the reason."""

from __future__ import annotations

import pytest

from devgen.services.orchestrator.states import is_terminal
from tests.helpers import eventually, register


@pytest.fixture
def platform_services() -> tuple[str, ...]:
    """Codegen without DEVGEN_LLM_*; the run never reaches the executor."""
    return ("identity", "codegen", "orchestrator")


@pytest.fixture(autouse=True)
def _no_llm(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DEVGEN_LLM_BASE_URL", raising=False)


async def test_the_llm_engine_without_a_model_is_not_retried(client):
    owner = await register(client)
    started = await client.post(
        "/api/v1/runs",
        json={"requirement": "Each note has a title.", "engine": "llm"},
        headers=owner.headers,
    )
    run_id = started.json()["data"]["id"]

    async def current() -> dict:
        return (await client.get(f"/api/v1/runs/{run_id}", headers=owner.headers)).json()["data"]

    run = await eventually(
        current, until=lambda run: is_terminal(run["state"]), what=f"run {run_id} finished"
    )
    assert run["state"] == "failed"
    assert (run["error"]["step"], run["error"]["code"]) == ("generate", "LLM_NOT_CONFIGURED")
    generate = next(step for step in run["steps"] if step["step"] == "generate")
    assert generate["attempt"] == 1


async def test_without_a_model_runs_and_projects_default_to_the_template_engine(client):
    owner = await register(client)
    started = await client.post(
        "/api/v1/runs", json={"requirement": "Each note has a title."}, headers=owner.headers
    )
    assert started.status_code == 202, started.text
    assert started.json()["data"]["engine"] == "template"
    project = await client.post(
        "/api/v1/projects",
        json={"name": "notes", "requirement": "Each note has a title."},
        headers=owner.headers,
    )
    assert project.status_code == 201, project.text
    assert project.json()["data"]["engine"] == "template"
