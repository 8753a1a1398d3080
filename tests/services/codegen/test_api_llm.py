"""Codegen's API with the LLM engine, the platform configured to talk to the stand-in."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from devgen.kit.events.tables import outbox
from devgen.kit.settings import Settings
from devgen.runtime.allinone import build_platform
from tests.helpers import Account, assert_error
from tests.llm_standin import LLMStandIn, replies
from tests.llm_standin.server import configure_codegen
from tests.services.codegen.llm_support import BROKEN_MAIN, MAIN, project_replies

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
API = "/api/v1/codegen"


@pytest.fixture
def llm_env(standin: LLMStandIn, monkeypatch: pytest.MonkeyPatch) -> LLMStandIn:
    """DEVGEN_LLM_* pointing at the stand-in, read by codegen when it starts."""
    configure_codegen(
        monkeypatch,
        standin,
        {
            "DEVGEN_LLM_RETRY_AFTER_MAX_SECONDS": "2",
            "DEVGEN_LLM_PRICE_INPUT_PER_1K": "0.001",
            "DEVGEN_LLM_PRICE_OUTPUT_PER_1K": "0.002",
        },
    )
    return standin


@pytest.fixture
async def platform(
    settings: Settings, platform_services: tuple[str, ...], llm_env: LLMStandIn
) -> AsyncIterator[FastAPI]:
    """The platform, started after the LLM settings are in the environment."""
    app = build_platform(settings, services=platform_services, migrate_on_startup=False)
    async with app.router.lifespan_context(app):
        yield app


def _spec() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / "todo.spec.json").read_text("utf-8"))
    return data


async def _event_types(codegen_app: FastAPI) -> list[tuple[str, dict[str, Any]]]:
    async with codegen_app.state.database.transaction() as session:
        rows = (await session.execute(select(outbox.c.type, outbox.c.envelope))).all()
    return [(row.type, json.loads(row.envelope)["data"]) for row in rows]


async def test_the_catalog_offers_the_llm_engine(
    client: httpx.AsyncClient, account: Account
) -> None:
    response = await client.get(f"{API}/templates", headers=account.headers)

    assert response.json()["data"][0]["engines"] == ["template", "llm", "hybrid"]


async def test_generate_with_the_llm_reports_files_plan_and_usage(
    client: httpx.AsyncClient, account: Account, llm_env: LLMStandIn, codegen_app: FastAPI
) -> None:
    llm_env.script(*project_replies())

    response = await client.post(
        f"{API}/generate", json={"spec": _spec(), "engine": "llm"}, headers=account.headers
    )

    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["generator"] == "devgen-llm-engine"
    assert "read_item" in data["files"]["app/main.py"]
    assert [f["path"] for f in data["plan"]][:2] == ["app/__init__.py", "app/main.py"]
    assert data["tests"] == [
        "tests/test_main.py::test_health",
        "tests/test_main.py::test_item_is_doubled",
    ]
    usage = data["usage"]
    assert usage["model"] == llm_env.model
    assert usage["calls"] == 6
    assert usage["cost_usd"] > 0
    assert usage["budget"] == {"max_tokens": 1_000_000, "max_cost_usd": 5.0}
    [(kind, event)] = await _event_types(codegen_app)
    assert kind == "codegen.generation.completed"
    assert event["engine"] == "llm"
    assert event["usage"]["calls"] == 6


async def test_a_spent_budget_stops_generation_with_a_clear_error(
    client: httpx.AsyncClient, account: Account, llm_env: LLMStandIn, codegen_app: FastAPI
) -> None:
    llm_env.script(*(replies.Reply(text=r.text, usage=(3000, 500)) for r in project_replies()))

    response = await client.post(
        f"{API}/generate",
        json={"spec": _spec(), "engine": "llm", "budget": {"max_tokens": 8000}},
        headers=account.headers,
    )

    error = assert_error(response, 422, "BUDGET_EXCEEDED")
    assert error["details"]["usage"]["total_tokens"] == 7000
    assert error["details"]["budget"]["max_tokens"] == 8000
    assert llm_env.count == 2
    # The failure is recorded although the request failed.
    [(kind, event)] = await _event_types(codegen_app)
    assert kind == "codegen.generation.failed"
    assert event["code"] == "BUDGET_EXCEEDED"


async def test_a_budget_above_the_server_ceiling_is_refused_before_any_call(
    client: httpx.AsyncClient, account: Account, llm_env: LLMStandIn
) -> None:
    response = await client.post(
        f"{API}/generate",
        json={"spec": _spec(), "engine": "llm", "budget": {"max_cost_usd": 1000}},
        headers=account.headers,
    )

    error = assert_error(response, 422, "VALIDATION_ERROR")
    assert error["details"]["errors"][0]["location"] == "budget.max_cost_usd"
    assert llm_env.count == 0


async def test_repair_rewrites_the_file_the_failure_names(
    client: httpx.AsyncClient, account: Account, llm_env: LLMStandIn, codegen_app: FastAPI
) -> None:
    files = {
        "app/__init__.py": "",
        "app/main.py": BROKEN_MAIN,
        "tests/test_main.py": "def test_x():\n    assert True\n",
    }
    llm_env.script(replies.fenced(MAIN))

    response = await client.post(
        f"{API}/repair",
        json={
            "files": files,
            "spec": _spec(),
            "failures": [
                {
                    "test": "tests/test_main.py::test_item_is_doubled",
                    "message": "assert 63 == 42 (app/main.py:10)",
                }
            ],
            "budget": {"max_tokens": 50_000},
        },
        headers=account.headers,
    )

    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["targets"] == data["changed"] == ["app/main.py"]
    assert "item_id * 2" in data["files"]["app/main.py"]
    assert data["files"]["tests/test_main.py"] == files["tests/test_main.py"]
    assert data["usage"]["calls"] == 1
    assert data["usage"]["budget"]["max_tokens"] == 50_000
    [(kind, event)] = await _event_types(codegen_app)
    assert (kind, event["operation"], event["changed"]) == (
        "codegen.generation.completed",
        "repair",
        ["app/main.py"],
    )


async def test_analyze_with_the_llm_returns_a_validated_spec(
    client: httpx.AsyncClient, account: Account, llm_env: LLMStandIn
) -> None:
    spec = {
        "name": "notes",
        "entities": [{"name": "note", "fields": [{"name": "title", "type": "string"}]}],
    }
    llm_env.script(
        replies.json_answer({"name": "notes", "entities": []}), replies.json_answer(spec)
    )

    response = await client.post(
        f"{API}/analyze",
        json={"requirement": "Notes have a title.", "engine": "llm"},
        headers=account.headers,
    )

    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["source"] == "llm"
    assert [e["name"] for e in data["spec"]["entities"]] == ["note"]
    assert data["usage"]["calls"] == 2
    assert "entities" in llm_env.requests[1].last_user


async def test_an_llm_that_keeps_failing_is_a_503(
    client: httpx.AsyncClient, account: Account, llm_env: LLMStandIn
) -> None:
    llm_env.respond_with(lambda _request: replies.server_error(500))

    response = await client.post(
        f"{API}/analyze",
        json={"requirement": "Notes have a title.", "engine": "llm"},
        headers=account.headers,
    )

    assert_error(response, 503, "LLM_UNAVAILABLE")
    assert llm_env.count == 4  # the first try and three retries


async def test_a_long_rate_limit_is_passed_on_with_retry_after(
    client: httpx.AsyncClient, account: Account, llm_env: LLMStandIn
) -> None:
    llm_env.script(replies.rate_limited("120"))

    response = await client.post(
        f"{API}/analyze",
        json={"requirement": "Notes have a title.", "engine": "llm"},
        headers=account.headers,
    )

    assert_error(response, 503, "LLM_UNAVAILABLE")
    assert response.headers["Retry-After"] == "120"
