"""``/api/v1/environments``: package sets built into virtualenvs, and the runtimes."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from devgen.kit.pins import service_pins
from tests.helpers import Account, assert_error, eventually, register

# A small pure-Python wheel on the machine's index: builds in a few seconds.
SMALL = ["iniconfig"]


async def _until_built(
    client: httpx.AsyncClient, account: Account, environment_id: str, timeout_s: float = 120
) -> dict[str, Any]:
    async def environment() -> dict[str, Any]:
        response = await client.get(
            f"/api/v1/environments/{environment_id}", headers=account.headers
        )
        data: dict[str, Any] = response.json()["data"]
        return data

    built: dict[str, Any] = await eventually(
        environment,
        until=lambda data: data["status"] in ("ready", "failed"),
        timeout=timeout_s,
        what=f"environment {environment_id} built",
    )
    return built


async def test_runtimes_list_python_and_what_else_is_installed(
    client: httpx.AsyncClient, owner: Account
) -> None:
    response = await client.get("/api/v1/runtimes", headers=owner.headers)

    runtimes = {r["name"]: r for r in response.json()["data"]}
    assert runtimes["python3"]["version"].startswith("3.")
    assert set(runtimes) <= {"python3", "node", "bash", "sh"}
    assert response.json()["metadata"]["total"] == len(runtimes)


async def test_python_service_is_built_in(client: httpx.AsyncClient, owner: Account) -> None:
    response = await client.get("/api/v1/environments/python-service", headers=owner.headers)

    data = response.json()["data"]
    assert data["builtin"] is True
    assert data["name"] == "python-service"
    # Exactly the pins generated projects carry, so a suite that passes here passes there.
    assert data["packages"] == sorted(service_pins().everything)
    names = {p.split("==")[0] for p in data["packages"]}
    assert {"fastapi", "sqlalchemy", "pydantic", "httpx", "pytest", "pytest-cov"} <= names
    by_id = await client.get(f"/api/v1/environments/{data['id']}", headers=owner.headers)
    assert by_id.json()["data"]["name"] == "python-service"
    listed = await client.get("/api/v1/environments", headers=owner.headers)
    assert listed.json()["data"][0]["name"] == "python-service"


async def test_an_environment_is_built_and_executions_use_it(
    client: httpx.AsyncClient, owner: Account
) -> None:
    created = await client.post(
        "/api/v1/environments", json={"packages": SMALL}, headers=owner.headers
    )

    assert created.status_code == 201, created.text
    environment = created.json()["data"]
    assert environment["status"] in ("building", "ready")
    assert environment["packages"] == ["iniconfig"]
    built = await _until_built(client, owner, environment["id"])
    assert built["status"] == "ready", built
    log = await client.get(f"/api/v1/environments/{environment['id']}/logs", headers=owner.headers)
    assert "iniconfig" in log.json()["data"]["log"]
    run = await client.post(
        "/api/v1/execute",
        json={
            "environment": environment["id"],
            "files": {"main.py": "import iniconfig, sys\nprint(sys.prefix)"},
            "entry": "main.py",
            "wait": True,
        },
        headers=owner.headers,
    )
    assert run.json()["data"]["verdict"] == "succeeded", run.text
    assert run.json()["data"]["result"]["stdout"].strip().endswith("/venv")


async def test_identical_package_sets_share_one_build(
    client: httpx.AsyncClient, owner: Account
) -> None:
    first = (
        await client.post("/api/v1/environments", json={"packages": SMALL}, headers=owner.headers)
    ).json()["data"]
    await _until_built(client, owner, first["id"])
    again = await client.post(
        "/api/v1/environments", json={"packages": [" IniConfig "]}, headers=owner.headers
    )
    stranger = await register(client)
    theirs = await client.post(
        "/api/v1/environments", json={"packages": SMALL}, headers=stranger.headers
    )

    assert again.status_code == 200
    assert again.json()["data"]["id"] == first["id"]
    assert theirs.status_code == 201
    assert theirs.json()["data"]["id"] != first["id"]
    # Already built: the other tenant's environment is ready at once, same build.
    assert theirs.json()["data"]["status"] == "ready"
    assert (
        theirs.json()["data"]["build_started_at"]
        == (await _until_built(client, owner, first["id"]))["build_started_at"]
    )


async def test_only_plain_requirements_are_accepted(
    client: httpx.AsyncClient, owner: Account
) -> None:
    for package in [
        "requests @ https://evil.example/requests.whl",
        "--index-url=https://evil.example/simple",
        "-r /etc/shadow",
        "./local/path",
        "pkg; python_version > '3'",
        "pkg==1.0 --hash=sha256:00",
        "",
    ]:
        response = await client.post(
            "/api/v1/environments", json={"packages": [package]}, headers=owner.headers
        )

        assert_error(response, 422, "VALIDATION_ERROR")
    listed = await client.get("/api/v1/environments", headers=owner.headers)
    assert [e["name"] for e in listed.json()["data"]] == ["python-service"]


async def test_a_failed_build_shows_why_and_refuses_executions(
    client: httpx.AsyncClient, owner: Account
) -> None:
    missing = f"devgen-no-such-package-{uuid.uuid4().hex[:8]}"
    created = (
        await client.post(
            "/api/v1/environments", json={"packages": [missing]}, headers=owner.headers
        )
    ).json()["data"]

    built = await _until_built(client, owner, created["id"])

    assert built["status"] == "failed"
    assert "exited with status" in built["error"]
    log = (
        await client.get(f"/api/v1/environments/{created['id']}/logs", headers=owner.headers)
    ).json()["data"]
    assert missing in log["log"]
    assert log["status"] == "failed"
    run = await client.post(
        "/api/v1/execute",
        json={"environment": created["id"], "files": {}, "command": ["true"]},
        headers=owner.headers,
    )
    assert_error(run, 409, "CONFLICT")
