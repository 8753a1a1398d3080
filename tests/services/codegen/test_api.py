"""Codegen's HTTP API through the platform: auth, analysis, generation, validation, limits."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from devgen.kit.events.tables import outbox
from devgen.kit.settings import Settings
from devgen.services.codegen.engines import generate, spec_hash
from devgen.services.codegen.engines.testplan import plan_tests
from devgen.services.codegen.spec import validate_spec
from tests.helpers import Account, assert_error
from tests.services.codegen.conftest import wire_executor
from tests.services.codegen.fake_executor import FakeExecutor

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
NAMES = sorted(path.stem for path in EXAMPLES.glob("*.txt"))
API = "/api/v1/codegen"


def _example_spec(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / f"{name}.spec.json").read_text("utf-8"))
    return data


async def _events(codegen_app: FastAPI) -> list[dict[str, Any]]:
    async with codegen_app.state.database.transaction() as session:
        rows = (await session.execute(select(outbox.c.type, outbox.c.envelope))).all()
    return [{"type": row.type, **json.loads(row.envelope)} for row in rows]


def _shuffled(value: Any, rng: random.Random) -> Any:
    if isinstance(value, dict):
        items = list(value.items())
        rng.shuffle(items)
        return {key: _shuffled(item, rng) for key, item in items}
    if isinstance(value, list):
        return [_shuffled(item, rng) for item in value]
    return value


ENDPOINTS = [
    ("GET", "/spec-schema"),
    ("GET", "/templates"),
    ("GET", "/languages"),
    ("POST", "/analyze"),
    ("POST", "/generate"),
    ("POST", "/validate"),
    ("POST", "/repair"),
]


async def test_every_endpoint_needs_a_token(client: httpx.AsyncClient) -> None:
    for method, path in ENDPOINTS:
        response = await client.request(method, API + path, json={})

        assert_error(response, 401, "UNAUTHORIZED")


async def test_work_needs_the_write_scope_the_catalog_does_not(
    client: httpx.AsyncClient, account: Account
) -> None:
    created = await client.post(
        "/api/v1/api-keys", json={"name": "reader", "scopes": ["read"]}, headers=account.headers
    )
    assert created.status_code == 201, created.text
    reader = {"Authorization": f"Bearer {created.json()['data']['secret']}"}

    assert (await client.get(f"{API}/templates", headers=reader)).status_code == 200
    refused = await client.post(f"{API}/analyze", json={"requirement": "x"}, headers=reader)
    assert_error(refused, 403, "FORBIDDEN")


async def test_the_spec_schema_is_published_with_its_version(
    client: httpx.AsyncClient, account: Account
) -> None:
    response = await client.get(f"{API}/spec-schema", headers=account.headers)

    assert response.status_code == 200
    data = response.json()["data"]
    assert data["spec_version"] == "1"
    schema = data["json_schema"]
    assert schema["title"] == "ServiceSpec"
    assert schema["$id"].endswith("/spec/v1.json")
    assert {"FieldSpec", "EntitySpec", "RelationSpec"} <= set(schema["$defs"])


async def test_the_catalog_lists_templates_and_languages(
    client: httpx.AsyncClient, account: Account
) -> None:
    templates = (await client.get(f"{API}/templates", headers=account.headers)).json()
    languages = (await client.get(f"{API}/languages", headers=account.headers)).json()

    assert templates["metadata"]["total"] == 1
    [template] = templates["data"]
    assert template["name"] == "fastapi-service"
    assert template["language"] == "python"
    assert template["engines"] == ["template"]  # no LLM endpoint configured
    assert any("openapi.json" in line for line in template["generates"])
    assert languages["data"] == [
        {"name": "python", "description": "Python 3.11+", "templates": ["fastapi-service"]}
    ]


async def test_each_example_requirement_analyses_to_its_spec(
    client: httpx.AsyncClient, account: Account
) -> None:
    assert len(NAMES) >= 12
    for name in NAMES:
        requirement = (EXAMPLES / f"{name}.txt").read_text(encoding="utf-8")

        response = await client.post(
            f"{API}/analyze", json={"requirement": requirement}, headers=account.headers
        )

        assert response.status_code == 200, response.text
        data = response.json()["data"]
        assert data["source"] == "text"
        assert data["spec"] == _example_spec(name), name
        assert data["unparsed"] == []
        assert data["user_stories"] == data["spec"]["user_stories"]
        assert data["acceptance_criteria"] == [
            c for story in data["user_stories"] for c in story["acceptance_criteria"]
        ]
        assert data["usage"] is None


async def test_a_requirement_without_an_entity_is_explained(
    client: httpx.AsyncClient, account: Account
) -> None:
    response = await client.post(
        f"{API}/analyze",
        json={"requirement": "We love our customers. It should be fast."},
        headers=account.headers,
    )

    error = assert_error(response, 422, "ANALYSIS_FAILED")
    assert "no entity found" in error["message"]
    assert "Each book has a title" in error["message"]
    assert [u["text"] for u in error["details"]["unparsed"]] == [
        "We love our customers",
        "It should be fast",
    ]


async def test_an_invalid_yaml_spec_is_refused_with_each_path(
    client: httpx.AsyncClient, account: Account
) -> None:
    requirement = (
        "name: shop\nentities:\n  - name: item\n    fields:\n"
        "      - {name: price, type: money}\n"
        "    relations:\n      - {name: owner, target: person}\n"
    )

    response = await client.post(
        f"{API}/analyze", json={"requirement": requirement}, headers=account.headers
    )

    error = assert_error(response, 422, "INVALID_SPEC")
    paths = {p["path"] for p in error["details"]["problems"]}
    assert paths == {"entities[0].fields[0].type", "entities[0].relations[0].target"}


async def test_an_overlong_requirement_is_refused(
    client: httpx.AsyncClient, account: Account
) -> None:
    response = await client.post(
        f"{API}/analyze",
        json={"requirement": "Each book has a title. " * 2000},
        headers=account.headers,
    )

    error = assert_error(response, 413, "PAYLOAD_TOO_LARGE")
    assert error["details"]["limit"] == 20_000


async def test_generation_is_deterministic_and_recorded(
    client: httpx.AsyncClient, account: Account, codegen_app: FastAPI
) -> None:
    spec = _example_spec("library")
    shuffled = _shuffled(spec, random.Random(7))

    first = await client.post(f"{API}/generate", json={"spec": spec}, headers=account.headers)
    second = await client.post(
        f"{API}/generate",
        json={"spec": shuffled, "engine": "template", "template": "fastapi-service"},
        headers=account.headers,
    )

    assert first.status_code == 200, first.text
    a, b = first.json()["data"], second.json()["data"]
    assert a["files"] == b["files"]
    assert a["files"] == generate(validate_spec(spec)).files
    assert a["spec_hash"] == b["spec_hash"] == spec_hash(validate_spec(spec))
    assert a["generator"] == "devgen-template-engine"
    assert a["generator_version"] == "1.0.0"
    assert a["tests"] == [t.node_id for t in plan_tests(validate_spec(spec))]
    assert a["file_count"] == len(a["files"])
    assert a["usage"] is None
    events = await _events(codegen_app)
    completed = [e for e in events if e["type"] == "codegen.generation.completed"]
    assert [e["subject"] for e in completed] == [a["id"], b["id"]]
    assert completed[0]["data"]["spec_hash"] == a["spec_hash"]
    assert completed[0]["tenantid"] == account.tenant_id
    assert completed[0]["actor"] == f"user:{account.user_id}"
    assert "files" not in completed[0]["data"]


async def test_a_bad_spec_is_refused_with_exact_paths_and_nothing_recorded(
    client: httpx.AsyncClient, account: Account, codegen_app: FastAPI
) -> None:
    spec = _example_spec("library")
    spec["entities"][0]["fields"][0]["type"] = "varchar"
    spec["entities"][2]["relations"][0]["target"] = "nobody"
    del spec["name"]

    response = await client.post(f"{API}/generate", json={"spec": spec}, headers=account.headers)

    error = assert_error(response, 422, "INVALID_SPEC")
    paths = [p["path"] for p in error["details"]["problems"]]
    assert "name" in paths
    assert "entities[0].fields[0].type" in paths
    assert "entities[2].relations[0].target" in paths
    assert await _events(codegen_app) == []


async def test_a_spec_too_big_or_with_too_many_entities_is_refused(
    client: httpx.AsyncClient, account: Account
) -> None:
    spec = _example_spec("todo")
    spec["description"] = "x" * 300_000
    too_big = await client.post(f"{API}/generate", json={"spec": spec}, headers=account.headers)
    assert_error(too_big, 413, "PAYLOAD_TOO_LARGE")

    many = {"name": "big", "entities": [{"name": f"e{i}"} for i in range(51)]}
    crowded = await client.post(f"{API}/generate", json={"spec": many}, headers=account.headers)
    error = assert_error(crowded, 422, "INVALID_SPEC")
    assert error["details"]["problems"][0]["path"] == "entities"


async def test_an_unknown_template_fails_and_the_failure_is_recorded(
    client: httpx.AsyncClient, account: Account, codegen_app: FastAPI
) -> None:
    response = await client.post(
        f"{API}/generate",
        json={"spec": _example_spec("todo"), "template": "django-app"},
        headers=account.headers,
    )

    error = assert_error(response, 422, "GENERATION_FAILED")
    assert "unknown template 'django-app'" in error["message"]
    [event] = await _events(codegen_app)
    assert event["type"] == "codegen.generation.failed"
    assert event["data"]["code"] == "GENERATION_FAILED"


async def test_the_llm_engine_without_an_endpoint_is_unavailable(
    client: httpx.AsyncClient, account: Account
) -> None:
    response = await client.post(
        f"{API}/generate",
        json={"spec": _example_spec("todo"), "engine": "llm"},
        headers=account.headers,
    )

    assert_error(response, 503, "LLM_NOT_CONFIGURED")


@pytest.mark.slow
async def test_a_generated_project_validates_clean_and_its_tests_pass(
    client: httpx.AsyncClient, account: Account, executor: FakeExecutor
) -> None:
    files = generate(validate_spec(_example_spec("todo"))).files

    response = await client.post(f"{API}/validate", json={"files": files}, headers=account.headers)

    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["ok"] is True, data
    assert data["errors"] == data["warnings"] == 0
    tests = data["tests"]
    assert tests["status"] == "passed"
    assert tests["failed"] == 0
    assert tests["passed"] == len(plan_tests(validate_spec(_example_spec("todo"))))
    assert tests["coverage_percent"] >= 90
    assert "app/main.py" in tests["coverage_files"]
    [sent] = executor.requests
    assert sent["environment"] == "python-service"
    assert sent["collect"] == ["junit.xml", "coverage.xml"]
    assert sent["wait"] is True
    assert "--junitxml=junit.xml" in sent["command"]
    assert "--cov=app" in sent["command"]


@pytest.mark.slow
async def test_a_broken_project_gets_its_diagnostics_and_failing_tests(
    client: httpx.AsyncClient, account: Account, executor: FakeExecutor
) -> None:
    files = dict(generate(validate_spec(_example_spec("todo"))).files)
    files["app/routers/task.py"] = files["app/routers/task.py"].replace(
        "HTTP_201_CREATED", "HTTP_200_OK"
    )
    files["app/extra.py"] = "import os\n\ndef f(:\n    return os\n"
    files["app/shell.py"] = (
        "import subprocess\n\n\ndef run(x):\n    return subprocess.call(x, shell=True)\n"
    )

    response = await client.post(f"{API}/validate", json={"files": files}, headers=account.headers)

    data = response.json()["data"]
    assert data["ok"] is False
    found = {(d["file"], d["line"], d["rule"], d["severity"]) for d in data["diagnostics"]}
    assert ("app/extra.py", 3, "syntax", "error") in found
    assert ("app/shell.py", 5, "bandit:B602", "error") in found
    assert data["tests"]["status"] == "failed"
    failed = [r["id"] for r in data["tests"]["results"] if r["outcome"] == "failed"]
    assert "tests/test_task.py::test_create_task" in failed
    assert any(
        d["rule"] == "tests" and d["file"] == "tests/test_task.py" for d in data["diagnostics"]
    )


async def test_tests_are_skipped_when_no_executor_is_deployed(
    client: httpx.AsyncClient, account: Account
) -> None:
    files = {"app/__init__.py": "", "tests/test_x.py": "def test_x():\n    assert True\n"}

    response = await client.post(f"{API}/validate", json={"files": files}, headers=account.headers)

    data = response.json()["data"]
    assert data["ok"] is True
    assert data["tests"]["status"] == "skipped"
    assert {
        "file": None,
        "line": None,
        "rule": "tests",
        "message": "tests: skipped (executor unavailable)",
        "severity": "info",
    } in data["diagnostics"]


@pytest.mark.parametrize("status", [404, 503])
async def test_tests_are_skipped_when_the_executor_answers_unavailable(
    client: httpx.AsyncClient,
    account: Account,
    codegen_app: FastAPI,
    settings: Settings,
    status: int,
) -> None:
    fake = FakeExecutor(status=status)
    wire_executor(codegen_app, settings, fake)
    files = {"tests/test_x.py": "def test_x():\n    assert True\n"}

    response = await client.post(f"{API}/validate", json={"files": files}, headers=account.headers)

    assert len(fake.requests) == 1
    assert response.json()["data"]["tests"]["reason"] == "executor unavailable"


async def test_validate_can_leave_the_tests_out(
    client: httpx.AsyncClient, account: Account, executor: FakeExecutor
) -> None:
    response = await client.post(
        f"{API}/validate",
        json={"files": {"a.py": "x = 1\n"}, "run_tests": False},
        headers=account.headers,
    )

    assert response.json()["data"]["tests"]["status"] == "skipped"
    assert executor.requests == []


@pytest.mark.parametrize(
    ("files", "location"),
    [
        ({"../escape.py": "x = 1\n"}, "files['../escape.py']"),
        ({"/etc/passwd": "x"}, "files['/etc/passwd']"),
        ({"a\\b.py": "x"}, "files['a\\\\b.py']"),
        ({}, "files"),
    ],
)
async def test_files_with_bad_paths_are_refused(
    client: httpx.AsyncClient, account: Account, files: dict[str, str], location: str
) -> None:
    response = await client.post(f"{API}/validate", json={"files": files}, headers=account.headers)

    error = assert_error(response, 422, "VALIDATION_ERROR")
    assert [e["location"] for e in error["details"]["errors"]] == [location]


async def test_too_many_or_too_big_files_are_refused(
    client: httpx.AsyncClient, account: Account
) -> None:
    many = {f"m{i}.py": "" for i in range(501)}
    big = {"big.py": "#" * (600 * 1024)}
    total = {f"f{i}.py": "#" * (400 * 1024) for i in range(4)}

    for files in (many, big, total):
        response = await client.post(
            f"{API}/validate", json={"files": files}, headers=account.headers
        )
        assert_error(response, 413, "PAYLOAD_TOO_LARGE")
    huge_body = await client.post(
        f"{API}/validate",
        content=b'{"files": {"a.py": "' + b"#" * (4 * 1024 * 1024) + b'"}}',
        headers={**account.headers, "Content-Type": "application/json"},
    )
    assert_error(huge_body, 413, "PAYLOAD_TOO_LARGE")


async def test_repair_without_an_llm_endpoint_is_unavailable(
    client: httpx.AsyncClient, account: Account
) -> None:
    response = await client.post(
        f"{API}/repair",
        json={"files": {"a.py": "x = 1\n"}, "failures": [{"test": "t", "message": "m"}]},
        headers=account.headers,
    )

    assert_error(response, 503, "LLM_NOT_CONFIGURED")
