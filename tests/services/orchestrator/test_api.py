"""The orchestrator's HTTP API with the engine turned off: runs stay where the API puts them."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.helpers import add_member, assert_error, login, register

REQUIREMENT = "A library lends books to members. Each book has a title and an ISBN."


@pytest.fixture
def platform_services() -> tuple[str, ...]:
    """Identity for tokens, the orchestrator under test."""
    return ("identity", "orchestrator")


@pytest.fixture(autouse=True)
def _no_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEVGEN_ORCHESTRATOR_ENGINE_ENABLED", "false")


@pytest.fixture
async def owner(client):
    """A signed-in tenant owner."""
    return await register(client)


def _sse(text: str) -> list[dict]:
    events = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "data" in fields:
            events.append(
                {"id": fields.get("id"), "event": fields.get("event"), **json.loads(fields["data"])}
            )
    return events


async def test_a_project_is_created_read_changed_and_deleted(client, owner):
    created = await client.post(
        "/api/v1/projects",
        json={"name": "Library", "requirement": REQUIREMENT, "budget": {"max_tokens": 5000}},
        headers=owner.headers,
    )
    assert created.status_code == 201, created.text
    project = created.json()["data"]
    assert created.headers["Location"] == f"/api/v1/projects/{project['id']}"
    assert (project["engine"], project["language"], project["template"]) == (
        "template",
        "python",
        "fastapi-service",
    )
    assert project["budget"] == {"max_tokens": 5000, "max_cost_usd": None}
    path = f"/api/v1/projects/{project['id']}"
    changed = await client.patch(path, json={"spec": {"name": "lib"}}, headers=owner.headers)
    assert changed.status_code == 200, changed.text
    assert changed.json()["data"]["requirement"] is None
    listed = await client.get("/api/v1/projects", headers=owner.headers)
    assert [p["id"] for p in listed.json()["data"]] == [project["id"]]
    assert (await client.delete(path, headers=owner.headers)).status_code == 204
    assert_error(await client.get(path, headers=owner.headers), 404, "NOT_FOUND")


async def test_a_project_needs_exactly_one_of_requirement_and_spec(client, owner):
    neither = await client.post("/api/v1/projects", json={"name": "x"}, headers=owner.headers)
    assert_error(neither, 422)
    both = await client.post(
        "/api/v1/projects",
        json={"name": "x", "requirement": REQUIREMENT, "spec": {}},
        headers=owner.headers,
    )
    assert_error(both, 422)


async def test_a_workflow_with_a_cycle_is_refused(client, owner):
    response = await client.post(
        "/api/v1/workflows",
        json={
            "name": "loop",
            "steps": [
                {"id": "analyze", "type": "analyze"},
                {"id": "generate", "type": "generate", "needs": ["analyze", "test"]},
                {"id": "test", "type": "test", "needs": ["generate"]},
            ],
        },
        headers=owner.headers,
    )
    error = assert_error(response, 422, "VALIDATION_ERROR")
    assert error["details"]["problems"] == [
        {"path": "steps", "message": "the steps form a cycle: generate -> test -> generate"}
    ]
    assert (await client.get("/api/v1/workflows", headers=owner.headers)).json()["data"] == []


@pytest.mark.parametrize(
    ("steps", "path", "words"),
    [
        ([{"id": "a", "type": "compile"}], "steps[0].type", "unknown type `compile`"),
        (
            [{"id": "a", "type": "analyze"}, {"id": "b", "type": "test", "needs": ["x"]}],
            "steps[1].needs[0]",
            "no step `x`",
        ),
        (
            [{"id": "t", "type": "test"}],
            "steps[0].inputs.files",
            "no step before it produces it",
        ),
        (
            [
                {"id": "a", "type": "analyze"},
                {"id": "g", "type": "generate", "needs": ["a"]},
                {"id": "v", "type": "validate", "needs": ["g"]},
                {"id": "t", "type": "test", "needs": ["g"]},
            ],
            "steps",
            "v, t each end it",
        ),
        (
            [
                {"id": "a", "type": "analyze"},
                {"id": "g", "type": "generate", "needs": ["a"], "inputs": {"spec": "x.spec"}},
            ],
            "steps[1].inputs.spec",
            "no step `x`",
        ),
        (
            [{"id": "a", "type": "analyze", "compensation": "delete_artifacts"}],
            "steps[0].compensation",
            "not a compensation of analyze",
        ),
        (
            [
                {"id": "a", "type": "analyze"},
                {"id": "g", "type": "generate", "needs": ["a"]},
                {"id": "r", "type": "repair", "needs": ["g"], "with": {"max_iterations": 99}},
            ],
            "steps[2].with.max_iterations",
            "less than or equal to 20",
        ),
    ],
)
async def test_a_workflow_that_cannot_run_is_refused_with_the_problem(
    client, owner, steps, path, words
):
    response = await client.post(
        "/api/v1/workflows", json={"name": "bad", "steps": steps}, headers=owner.headers
    )
    problems = assert_error(response, 422)["details"]["problems"]
    assert any(p["path"] == path and words in p["message"] for p in problems), problems


async def test_validating_a_workflow_stores_nothing_and_gives_an_order(client, owner):
    response = await client.post(
        "/api/v1/workflows/validate",
        json={
            "steps": [
                {"id": "package", "type": "package", "needs": ["generate"]},
                {"id": "generate", "type": "generate", "needs": ["analyze"]},
                {"id": "analyze", "type": "analyze"},
            ]
        },
        headers=owner.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"] == {
        "valid": True,
        "problems": [],
        "order": ["analyze", "generate", "package"],
    }


async def test_the_default_workflow_and_the_step_types_are_published(client, owner):
    default = (await client.get("/api/v1/workflows/default", headers=owner.headers)).json()["data"]
    assert default["builtin"] is True
    assert [s["id"] for s in default["steps"]] == [
        "analyze",
        "generate",
        "validate",
        "test",
        "repair",
        "contract",
        "package",
    ]
    types = (await client.get("/api/v1/workflows/step-types", headers=owner.headers)).json()
    assert {t["name"] for t in types["data"]} == {
        "analyze",
        "generate",
        "validate",
        "test",
        "contract",
        "repair",
        "package",
        "notify",
    }


async def test_a_run_is_accepted_with_its_steps_pending(client, owner):
    response = await client.post(
        "/api/v1/runs", json={"requirement": REQUIREMENT}, headers=owner.headers
    )
    assert response.status_code == 202, response.text
    run = response.json()["data"]
    assert response.headers["Location"] == f"/api/v1/runs/{run['id']}"
    assert run["state"] == "pending"
    assert run["workflow"] == "default"
    assert run["params"]["engine"] == "template"
    assert [(s["step"], s["state"], s["needs"]) for s in run["steps"]] == [
        ("analyze", "pending", []),
        ("generate", "pending", ["analyze"]),
        ("validate", "pending", ["generate"]),
        ("test", "pending", ["generate"]),
        ("repair", "pending", ["validate", "test"]),
        ("contract", "pending", ["generate"]),
        ("package", "pending", ["repair", "contract"]),
    ]
    status = await client.get(
        f"/api/v1/tasks/{run['steps'][0]['id']}/status", headers=owner.headers
    )
    assert status.json()["data"]["state"] == "pending"
    assert run["events_url"] == f"/api/v1/runs/{run['id']}/events"


async def test_a_run_of_a_project_takes_the_project_parameters_unless_overridden(client, owner):
    project = (
        await client.post(
            "/api/v1/projects",
            json={"name": "Library", "requirement": REQUIREMENT, "engine": "llm"},
            headers=owner.headers,
        )
    ).json()["data"]
    plain = await client.post(f"/api/v1/projects/{project['id']}/runs", headers=owner.headers)
    assert plain.status_code == 202, plain.text
    assert plain.json()["data"]["params"]["engine"] == "llm"
    assert plain.json()["data"]["project_id"] == project["id"]
    overridden = await client.post(
        "/api/v1/runs",
        json={"project_id": project["id"], "engine": "template", "budget": {"max_tokens": 10}},
        headers=owner.headers,
    )
    params = overridden.json()["data"]["params"]
    assert (params["engine"], params["budget"], params["requirement"]) == (
        "template",
        {"max_tokens": 10},
        REQUIREMENT,
    )
    listed = await client.get(f"/api/v1/runs?project_id={project['id']}", headers=owner.headers)
    assert len(listed.json()["data"]) == 2


async def test_a_run_needs_something_to_generate(client, owner):
    assert_error(await client.post("/api/v1/runs", json={}, headers=owner.headers), 422)


async def test_a_stored_workflow_is_executed(client, owner):
    workflow = (
        await client.post(
            "/api/v1/workflows",
            json={
                "name": "no tests",
                "steps": [
                    {"id": "analyze", "type": "analyze"},
                    {"id": "generate", "type": "generate", "needs": ["analyze"]},
                    {"id": "package", "type": "package", "needs": ["generate"]},
                ],
            },
            headers=owner.headers,
        )
    ).json()["data"]
    response = await client.post(
        f"/api/v1/workflows/{workflow['id']}/execute",
        json={"requirement": REQUIREMENT},
        headers=owner.headers,
    )
    assert response.status_code == 202, response.text
    run = response.json()["data"]
    assert (run["workflow"], run["workflow_id"]) == ("no tests", workflow["id"])
    assert [s["step"] for s in run["steps"]] == ["analyze", "generate", "package"]


async def test_cancelling_a_run_that_has_not_started_cancels_every_step(client, owner):
    run = (
        await client.post("/api/v1/runs", json={"requirement": REQUIREMENT}, headers=owner.headers)
    ).json()["data"]
    response = await client.post(f"/api/v1/runs/{run['id']}/cancel", headers=owner.headers)
    assert response.status_code == 202, response.text
    cancelled = response.json()["data"]
    assert cancelled["state"] == "cancelled"
    assert cancelled["error"]["code"] == "CANCELLED"
    assert {s["state"] for s in cancelled["steps"]} == {"cancelled"}
    again = await client.post(f"/api/v1/runs/{run['id']}/cancel", headers=owner.headers)
    assert_error(again, 409, "CONFLICT")


async def test_the_event_stream_replays_and_resumes_after_last_event_id(client, owner):
    run = (
        await client.post("/api/v1/runs", json={"requirement": REQUIREMENT}, headers=owner.headers)
    ).json()["data"]
    await client.post(f"/api/v1/runs/{run['id']}/cancel", headers=owner.headers)
    response = await client.get(f"/api/v1/runs/{run['id']}/events", headers=owner.headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = _sse(response.text)
    types = [e["event"] for e in events]
    assert types[0] == "orchestrator.run.created"
    assert types[1] == "orchestrator.run.cancel_requested"
    assert types[-1] == "orchestrator.run.cancelled"
    assert [int(e["id"]) for e in events] == list(range(1, len(events) + 1))
    resumed = await client.get(
        f"/api/v1/runs/{run['id']}/events",
        headers={**owner.headers, "Last-Event-ID": events[2]["id"]},
    )
    assert [e["id"] for e in _sse(resumed.text)] == [e["id"] for e in events[3:]]
    bad = await client.get(
        f"/api/v1/runs/{run['id']}/events", headers={**owner.headers, "Last-Event-ID": "x"}
    )
    assert_error(bad, 422)


async def test_a_tenant_sees_only_its_own_projects_runs_and_tasks(client, owner):
    other = await register(client)
    run = (
        await client.post("/api/v1/runs", json={"requirement": REQUIREMENT}, headers=owner.headers)
    ).json()["data"]
    project = (
        await client.post(
            "/api/v1/projects",
            json={"name": "p", "requirement": REQUIREMENT},
            headers=owner.headers,
        )
    ).json()["data"]
    for path in (
        f"/api/v1/runs/{run['id']}",
        f"/api/v1/runs/{run['id']}/events",
        f"/api/v1/tasks/{run['steps'][0]['id']}/status",
        f"/api/v1/projects/{project['id']}",
    ):
        assert_error(await client.get(path, headers=other.headers), 404)
    assert_error(await client.post(f"/api/v1/runs/{run['id']}/cancel", headers=other.headers), 404)
    assert (await client.get("/api/v1/runs", headers=other.headers)).json()["data"] == []
    assert_error(
        await client.post(
            "/api/v1/runs", json={"project_id": project["id"]}, headers=other.headers
        ),
        404,
    )


async def test_a_viewer_reads_but_cannot_start_runs(client, owner):
    viewer = await register(client)
    await add_member(client, owner, viewer, "viewer")
    tokens = await login(client, viewer.email, tenant_id=owner.tenant_id)
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert (await client.get("/api/v1/runs", headers=headers)).status_code == 200
    refused = await client.post("/api/v1/runs", json={"requirement": REQUIREMENT}, headers=headers)
    assert_error(refused, 403, "FORBIDDEN")


async def test_without_a_token_nothing_is_answered(client):
    assert_error(await client.get("/api/v1/runs"), 401)
    assert_error(await client.get(f"/api/v1/runs/{uuid.uuid4()}"), 401)
