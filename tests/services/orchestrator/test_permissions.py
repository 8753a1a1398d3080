"""Who may change what in a tenant: viewers read, members create and run and manage their
own projects, workflows and runs, admins manage everything, nobody deletes the built-in
workflow."""

from __future__ import annotations

import pytest

from tests.helpers import assert_error, register
from tests.services.orchestrator.members import join

REQUIREMENT = "A library lends books to members. Each book has a title and an ISBN."
STEPS = [
    {"id": "analyze", "type": "analyze"},
    {"id": "generate", "type": "generate", "needs": ["analyze"]},
]


@pytest.fixture
def platform_services() -> tuple[str, ...]:
    """Identity for accounts and memberships, the orchestrator under test."""
    return ("identity", "orchestrator")


@pytest.fixture(autouse=True)
def _no_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    # Runs stay where the API puts them, so a cancel has something to cancel.
    monkeypatch.setenv("DEVGEN_ORCHESTRATOR_ENGINE_ENABLED", "false")


@pytest.fixture
async def owner(client):
    """A signed-in tenant owner."""
    return await register(client)


async def _project(client, account, name: str = "Library") -> dict:
    response = await client.post(
        "/api/v1/projects", json={"name": name, "requirement": REQUIREMENT}, headers=account.headers
    )
    assert response.status_code == 201, response.text
    return response.json()["data"]


async def _workflow(client, account) -> dict:
    response = await client.post(
        "/api/v1/workflows", json={"name": "short", "steps": STEPS}, headers=account.headers
    )
    assert response.status_code == 201, response.text
    return response.json()["data"]


async def _run(client, account) -> dict:
    response = await client.post(
        "/api/v1/runs", json={"requirement": REQUIREMENT}, headers=account.headers
    )
    assert response.status_code == 202, response.text
    return response.json()["data"]


async def test_a_member_cannot_delete_or_change_an_admins_project(client, owner):
    admin = await join(client, owner, "admin")
    member = await join(client, owner, "member")
    project = await _project(client, admin)
    path = f"/api/v1/projects/{project['id']}"

    deleted = await client.delete(path, headers=member.headers)
    changed = await client.patch(path, json={"name": "Mine now"}, headers=member.headers)

    assert_error(deleted, 403, "FORBIDDEN")
    assert_error(changed, 403, "FORBIDDEN")
    after = await client.get(path, headers=member.headers)
    assert after.status_code == 200, after.text
    assert after.json()["data"] == project


async def test_the_creator_or_an_admin_may_delete_a_project(client, owner):
    admin = await join(client, owner, "admin")
    member = await join(client, owner, "member")
    own = await _project(client, member, "own")
    others = await _project(client, member, "others")

    by_creator = await client.delete(f"/api/v1/projects/{own['id']}", headers=member.headers)
    by_admin = await client.delete(f"/api/v1/projects/{others['id']}", headers=admin.headers)

    assert (by_creator.status_code, by_admin.status_code) == (204, 204)
    assert (await client.get("/api/v1/projects", headers=owner.headers)).json()["data"] == []


async def test_a_member_cannot_delete_another_members_workflow_but_an_admin_can(client, owner):
    author = await join(client, owner, "member")
    other = await join(client, owner, "member")
    workflow = await _workflow(client, author)
    path = f"/api/v1/workflows/{workflow['id']}"

    refused = await client.delete(path, headers=other.headers)

    assert_error(refused, 403, "FORBIDDEN")
    assert workflow["created_by"] == author.user_id
    assert (await client.get(path, headers=other.headers)).status_code == 200
    assert (await client.delete(path, headers=owner.headers)).status_code == 204
    assert_error(await client.get(path, headers=owner.headers), 404, "NOT_FOUND")


async def test_nobody_deletes_the_built_in_workflow(client, owner):
    refused = await client.delete("/api/v1/workflows/default", headers=owner.headers)

    assert_error(refused, 403, "FORBIDDEN")
    default = await client.get("/api/v1/workflows/default", headers=owner.headers)
    assert default.json()["data"]["builtin"] is True


async def test_a_member_cannot_cancel_another_members_run(client, owner):
    starter = await join(client, owner, "member")
    other = await join(client, owner, "member")
    run = await _run(client, starter)
    path = f"/api/v1/runs/{run['id']}"

    refused = await client.post(f"{path}/cancel", headers=other.headers)

    assert_error(refused, 403, "FORBIDDEN")
    assert (await client.get(path, headers=other.headers)).json()["data"]["state"] == "pending"
    cancelled = await client.post(f"{path}/cancel", headers=starter.headers)
    assert cancelled.json()["data"]["state"] == "cancelled"


async def test_an_admin_may_cancel_a_members_run(client, owner):
    member = await join(client, owner, "member")
    admin = await join(client, owner, "admin")
    run = await _run(client, member)

    response = await client.post(f"/api/v1/runs/{run['id']}/cancel", headers=admin.headers)

    assert response.status_code == 202, response.text
    assert response.json()["data"]["state"] == "cancelled"


async def test_a_member_may_run_another_members_project_and_workflow(client, owner):
    author = await join(client, owner, "member")
    other = await join(client, owner, "member")
    project = await _project(client, author)
    workflow = await _workflow(client, author)

    of_project = await client.post(f"/api/v1/projects/{project['id']}/runs", headers=other.headers)
    of_workflow = await client.post(
        f"/api/v1/workflows/{workflow['id']}/execute",
        json={"project_id": project["id"]},
        headers=other.headers,
    )

    assert (of_project.status_code, of_workflow.status_code) == (202, 202)


async def test_a_viewer_creates_nothing(client, owner):
    viewer = await join(client, owner, "viewer")

    project = await client.post(
        "/api/v1/projects", json={"name": "x", "requirement": REQUIREMENT}, headers=viewer.headers
    )
    workflow = await client.post(
        "/api/v1/workflows", json={"name": "x", "steps": STEPS}, headers=viewer.headers
    )

    assert_error(project, 403, "FORBIDDEN")
    assert_error(workflow, 403, "FORBIDDEN")
    assert (await client.get("/api/v1/projects", headers=viewer.headers)).json()["data"] == []
    assert (await client.get("/api/v1/workflows", headers=viewer.headers)).json()["data"] == []
