"""Property-based testing of the orchestrator's OpenAPI: no 5xx, no answer the schema forbids.

Cases generated from the orchestrator's own schema go through the in-process
platform (identity for tokens, the orchestrator with its engine turned off,
so the runs the fuzzer starts stay pending and call no other service), with
a registered user's token; valid and invalid inputs are both generated.
Paths naming a project, workflow, run or task get the id of one that
exists half of the time, so the answers for real resources are checked,
not only the 404s. The event stream is asked for without ``follow`` (a
pending run's stream would stay open).
"""

from __future__ import annotations

import functools
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from devgen.kit.app import create_app
from devgen.kit.settings import Settings
from devgen.services import orchestrator
from tests.helpers import register

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
BASE_URL = "http://testserver"
REQUIREMENT = "A library lends books to members. Each book has a title."


@pytest.fixture
def platform_services() -> tuple[str, ...]:
    """Identity for tokens, the orchestrator under test."""
    return ("identity", "orchestrator")


@pytest.fixture(autouse=True)
def _no_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEVGEN_ORCHESTRATOR_ENGINE_ENABLED", "false")


@functools.cache
def _document() -> dict[str, Any]:
    return create_app(orchestrator.service, Settings()).openapi()


def _schema() -> Any:
    return schemathesis.openapi.from_dict(_document()).include(
        path_regex=r"^/api/v1/(projects|workflows|runs|tasks)"
    )


def _cases(mode: GenerationMode) -> st.SearchStrategy[tuple[schemathesis.Case, bool]]:
    return st.tuples(
        st.deferred(lambda: _schema().as_strategy(generation_mode=mode)), st.booleans()
    )


async def _fresh(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, str]:
    """A project, a workflow and a run (with its first task) of the user's."""
    project = await client.post(
        "/api/v1/projects", json={"name": "p", "requirement": REQUIREMENT}, headers=headers
    )
    workflow = await client.post(
        "/api/v1/workflows",
        json={"name": "w", "steps": [{"id": "analyze", "type": "analyze"}]},
        headers=headers,
    )
    run = await client.post("/api/v1/runs", json={"requirement": REQUIREMENT}, headers=headers)
    run_data = run.json()["data"]
    return {
        "project_id": project.json()["data"]["id"],
        "workflow_id": workflow.json()["data"]["id"],
        "run_id": run_data["id"],
        "task_id": run_data["steps"][0]["id"],
    }


@pytest.fixture
async def world(client: httpx.AsyncClient) -> dict[str, Any]:
    """A user's headers and one resource of each kind of theirs to aim at."""
    account = await register(client)
    return {"headers": account.headers, **await _fresh(client, account.headers)}


async def _send_and_validate(
    client: httpx.AsyncClient, world: dict[str, Any], case: schemathesis.Case, aim: bool
) -> None:
    if aim and case.path_parameters:
        targets = await _fresh(client, world["headers"]) if case.method != "GET" else world
        for name in ("project_id", "workflow_id", "run_id", "task_id"):
            if name in case.path_parameters:
                case.path_parameters[name] = targets[name]
    if case.path.endswith("/events"):
        case.query = {**(case.query or {}), "follow": "false"}
    arguments = case.as_transport_kwargs(base_url=BASE_URL, headers=world["headers"])
    try:
        request = client.build_request(
            arguments["method"],
            arguments["url"],
            headers=arguments.get("headers"),
            params=arguments.get("params"),
            json=arguments.get("json"),
        )
    except (UnicodeEncodeError, ValueError, TypeError):
        return  # nothing any HTTP client could send
    response = await client.send(request)
    case.validate_response(response, checks=CHECKS, headers=arguments["headers"])


FUZZ = settings(
    max_examples=100, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)


@FUZZ
@given(case=_cases(GenerationMode.POSITIVE))
async def test_valid_requests_get_answers_the_schema_allows(client, world, case):
    await _send_and_validate(client, world, *case)


@FUZZ
@given(case=_cases(GenerationMode.NEGATIVE))
async def test_invalid_requests_are_refused_as_the_schema_says(client, world, case):
    operation, _ = case
    await _send_and_validate(client, world, operation, aim=False)


def test_the_fuzzed_schema_is_the_one_served(platform):
    assert platform.state.upstream_apps["orchestrator"].openapi() == _document()
