"""A running generation's progress, read from ``GET /codegen/progress/{key}`` meanwhile.

The stand-in streams its answers (both protocols); the answers after the first files are
held by a :class:`~tests.llm_standin.gate.Gate`, so what the test reads is read while the
generation is still running, whatever the machine's speed.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from devgen.kit.settings import Settings
from devgen.runtime.allinone import build_platform
from tests.helpers import Account, assert_error, eventually, register
from tests.llm_standin import LLMStandIn
from tests.llm_standin.gate import Gate
from tests.services.codegen.llm_support import PLAN, project_replies

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
API = "/api/v1/codegen"
KEY = "devgen-run-test-generate-1-generate"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    """The progress row is written on both databases (the distributed shape's too)."""
    return str(request.param)


@pytest.fixture
async def platform(
    settings: Settings,
    platform_services: tuple[str, ...],
    standin: LLMStandIn,
    provider: str,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[FastAPI]:
    """The platform with codegen streaming from the stand-in over ``provider``'s protocol."""
    base_url = standin.anthropic_base_url if provider == "anthropic" else standin.openai_base_url
    for name, value in {
        "DEVGEN_LLM_PROVIDER": provider,
        "DEVGEN_LLM_BASE_URL": base_url,
        "DEVGEN_LLM_API_KEY": standin.api_key,
        "DEVGEN_LLM_MODEL": standin.model,
        "DEVGEN_LLM_BACKOFF_SECONDS": "0.01",
        "DEVGEN_LLM_STREAM": "true",
    }.items():
        monkeypatch.setenv(name, value)
    app = build_platform(settings, services=platform_services, migrate_on_startup=False)
    async with app.router.lifespan_context(app):
        yield app


def _spec() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / "todo.spec.json").read_text("utf-8"))
    return data


async def _progress(client: httpx.AsyncClient, account: Account, **params: Any) -> httpx.Response:
    return await client.get(f"{API}/progress/{KEY}", params=params, headers=account.headers)


def _done_files(entries: list[dict[str, Any]]) -> list[str]:
    return [e["file"] for e in entries if e["state"] == "done" and e.get("file")]


async def test_the_progress_of_a_running_generation_names_files_and_tokens(
    client: httpx.AsyncClient, account: Account, standin: LLMStandIn
) -> None:
    plan_and_files = project_replies()
    standin.script(*plan_and_files[:3])  # the plan, app/__init__.py, app/main.py
    gate = Gate(standin, plan_and_files[3:])
    generation = asyncio.create_task(
        client.post(
            f"{API}/generate",
            json={"spec": _spec(), "engine": "llm"},
            headers={**account.headers, "Idempotency-Key": KEY},
        )
    )
    try:
        seen = await eventually(
            lambda: _progress(client, account),
            until=lambda r: (
                r.status_code == 200
                and _done_files(r.json()["data"]["entries"]) == ["app/__init__.py", "app/main.py"]
                and any(
                    e["state"] == "started" and e.get("file") == "tests/__init__.py"
                    for e in r.json()["data"]["entries"]
                )
            ),
            what="the first two files written, the third begun",
        )
        data = seen.json()["data"]
        assert data["finished"] is False
        assert not generation.done()
        plan = [e for e in data["entries"] if e["what"] == "file plan"]
        assert {e["role"] for e in plan} == {"architect"}
        # Begun, perhaps noted while streamed ("writing"), and ended.
        assert (plan[0]["state"], plan[-1]["state"]) == ("started", "done")
        main = next(e for e in data["entries"] if e["state"] == "done" and e.get("file"))
        assert main["role"] == "engineer"
        assert main["tokens"] > 0
        assert main["usage_tokens"] > 0
        newer = await _progress(client, account, after=data["last"])
        assert newer.json()["data"]["entries"] == []
    finally:
        gate.open()
    response = await generation
    assert response.status_code == 200, response.text
    ended = (await _progress(client, account)).json()["data"]
    assert ended["finished"] is True
    assert _done_files(ended["entries"]) == [f["path"] for f in PLAN["files"]]
    assert [e["seq"] for e in ended["entries"]] == list(range(1, ended["last"] + 1))


@pytest.mark.parametrize("provider", ["openai"])
async def test_another_tenant_does_not_see_a_generations_progress(
    client: httpx.AsyncClient, account: Account, standin: LLMStandIn
) -> None:
    standin.script(*project_replies())
    response = await client.post(
        f"{API}/generate",
        json={"spec": _spec(), "engine": "llm"},
        headers={**account.headers, "Idempotency-Key": KEY},
    )
    assert response.status_code == 200, response.text
    assert (await _progress(client, account)).status_code == 200

    stranger = await register(client)

    assert_error(await _progress(client, stranger), 404, "NOT_FOUND")


@pytest.mark.parametrize("provider", ["openai"])
async def test_a_negative_after_is_refused(client: httpx.AsyncClient, account: Account) -> None:
    assert_error(await _progress(client, account, after=-1), 422)


@pytest.mark.parametrize("provider", ["openai"])
async def test_a_generation_whose_progress_cannot_be_kept_still_succeeds(
    client: httpx.AsyncClient, account: Account, standin: LLMStandIn, codegen_app: FastAPI
) -> None:
    async with codegen_app.state.database.transaction() as session:
        await session.execute(text("DROP TABLE generation_progress"))
    standin.script(*project_replies())

    response = await client.post(
        f"{API}/generate",
        json={"spec": _spec(), "engine": "llm"},
        headers={**account.headers, "Idempotency-Key": KEY},
    )

    assert response.status_code == 200, response.text
    assert sorted(response.json()["data"]["files"]) == sorted(f["path"] for f in PLAN["files"])
