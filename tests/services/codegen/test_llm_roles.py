"""The roles that leave documents (brief, design, review) through codegen's API.

The stand-in answers as the product manager, the architect and the reviewer would; the
hybrid engine's extension answers come from the helpdesk-sla recording.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from devgen.kit.events.tables import outbox
from devgen.kit.settings import Settings
from devgen.runtime.allinone import build_platform
from devgen.services.codegen.analyst import analyze
from tests.helpers import Account, assert_error
from tests.llm_standin import LLMStandIn, replies
from tests.llm_standin.recorded import RECORDINGS
from tests.llm_standin.server import configure_codegen
from tests.services.codegen.llm_support import MAIN, PLAN, TEST_MAIN, project_replies

ROOT = Path(__file__).resolve().parents[3]
API = "/api/v1/codegen"
RECORDED = RECORDINGS / "helpdesk-sla"
EXTENSION = "app/extensions/page_on_call.py"
QUESTION = "Who is on call at night, and how is the engineer reached?"
HYBRID_FILES = [
    {"path": "app/models.py", "purpose": "the tables the templates built"},
    {"path": EXTENSION, "purpose": "pages the on-call engineer"},
    {"path": "tests/test_ext_page_on_call.py", "purpose": "its tests"},
]


@pytest.fixture
def llm_env(standin: LLMStandIn, monkeypatch: pytest.MonkeyPatch) -> LLMStandIn:
    """DEVGEN_LLM_* pointing at the stand-in, read by codegen when it starts."""
    configure_codegen(monkeypatch, standin)
    return standin


@pytest.fixture
async def platform(
    settings: Settings, platform_services: tuple[str, ...], llm_env: LLMStandIn
) -> AsyncIterator[FastAPI]:
    """The platform, started after the LLM settings are in the environment."""
    app = build_platform(settings, services=platform_services, migrate_on_startup=False)
    async with app.router.lifespan_context(app):
        yield app


def _requirement() -> str:
    return (ROOT / "docs/requirements/helpdesk-sla.txt").read_text("utf-8")


def _spec() -> dict[str, Any]:
    return analyze(_requirement()).spec.model_dump(mode="json")


def _recorded(name: str) -> replies.Reply:
    return replies.text((RECORDED / name).read_text("utf-8"))


def _entities() -> list[str]:
    return [e["name"] for e in _spec()["entities"]]


def _diagram() -> str:
    names = [n.title().replace("_", "") for n in _entities()]
    classes = "\n".join(f"  class {n} {{\n    +int id\n  }}" for n in names)
    return f"classDiagram\n{classes}\n  {names[-1]} --> {names[0]}"


async def _generate(client: httpx.AsyncClient, account: Account, **extra: Any) -> dict[str, Any]:
    body = {"spec": _spec(), "engine": "hybrid", "requirement": _requirement(), **extra}
    response = await client.post(f"{API}/generate", json=body, headers=account.headers)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def test_the_brief_keeps_the_open_questions_for_the_user(
    client: httpx.AsyncClient, account: Account, llm_env: LLMStandIn
) -> None:
    llm_env.script(
        replies.brief(
            requirements=[("R1", "P0", "Track incidents"), ("R2", "P1", "Page on severity 1")],
            open_questions=[QUESTION],
        ),
        _recorded("01-extension.md"),
    )

    data = await _generate(client, account, roles=["product_manager"])

    documents = data["documents"]
    assert documents["roles"] == ["product_manager"]
    assert [q["question"] for q in documents["brief"]["open_questions"]] == [QUESTION]
    assert [r["priority"] for r in documents["brief"]["requirements"]] == ["P0", "P1"]
    assert documents["design"] is None
    assert documents["review"] is None
    # The brief is asked for first, with the requirement; the engineer's prompt follows.
    assert "product manager" in llm_env.requests[0].system
    assert "An IT team tracks incidents." in llm_env.requests[0].prompt
    assert llm_env.count == 2


async def test_a_malformed_brief_is_asked_again_once_then_reported_not_stored(
    client: httpx.AsyncClient, account: Account, llm_env: LLMStandIn
) -> None:
    llm_env.script(
        replies.json_answer({"goals": [], "requirements": [{"id": "R1", "text": "x"}]}),
        replies.text("Here is the brief: goals are to track incidents."),
        _recorded("01-extension.md"),
    )

    data = await _generate(client, account, roles=["product_manager"])

    documents = data["documents"]
    assert documents["brief"] is None
    [problem] = documents["problems"]
    assert problem["document"] == "brief"
    assert "no usable product brief in 2 answer(s)" in problem["message"]
    # The re-ask said what was wrong with the first answer.
    again = llm_env.requests[1].last_user
    assert "goals: List should have at least 1 item" in again
    assert "requirements[0].priority: Field required" in again
    assert data["extensions"][0]["status"] == "implemented"


async def test_the_design_draws_the_spec_entities_as_a_mermaid_class_diagram(
    client: httpx.AsyncClient, account: Account, llm_env: LLMStandIn
) -> None:
    entities = _entities()
    partial = "classDiagram\n  class Nothing {\n  }"
    llm_env.script(
        replies.design(partial, files=HYBRID_FILES),
        replies.design(
            _diagram(),
            files=HYBRID_FILES,
            apis=[("POST", "/incidents", "open an incident")],
        ),
        _recorded("01-extension.md"),
    )

    data = await _generate(client, account, roles=["architect"])

    design = data["documents"]["design"]
    assert design["class_diagram"].startswith("classDiagram")
    for entity in entities:
        assert f"class {entity.title().replace('_', '')}" in design["class_diagram"]
    assert design["apis"] == [
        {"method": "POST", "path": "/incidents", "summary": "open an incident"}
    ]
    assert [f["path"] for f in design["files"]] == [f["path"] for f in HYBRID_FILES]
    # The first diagram lacked the entities: it was sent back, saying which.
    assert f"has no class for the entities {', '.join(entities)}" in llm_env.requests[1].last_user
    # The architect saw the files the templates built.
    assert "- app/models.py" in llm_env.requests[0].prompt


async def test_a_review_asking_for_a_change_feeds_one_engineer_round_then_approves(
    client: httpx.AsyncClient, account: Account, llm_env: LLMStandIn
) -> None:
    change = "compare the severity as an integer: values['severity'] is 1, not '1'"
    llm_env.script(
        replies.brief(open_questions=[QUESTION]),
        replies.design(_diagram(), files=HYBRID_FILES),
        _recorded("01-extension.md"),
        replies.review("change", "A severity-1 incident never pages", changes={EXTENSION: change}),
        _recorded("02-repair.md"),
        replies.review("approve", "Severity-1 incidents page once"),
    )

    data = await _generate(client, account, roles=["product_manager", "architect", "reviewer"])

    review = data["documents"]["review"]
    assert review["verdict"] == "approve"
    assert review["stopped"] is None
    first, second = review["rounds"]
    assert (first["round"], first["verdict"]) == (1, "change")
    assert first["changes"] == [{"path": EXTENSION, "change": change}]
    assert first["changed"] == [EXTENSION]
    assert (second["round"], second["verdict"], second["changed"]) == (2, "approve", [])
    # The engineer's round got the review, not test failures; the fix is in the project.
    fix = llm_env.requests[4].prompt
    assert "The reviewer asks for changes" in fix
    assert change in fix
    assert 'values.get("severity") == PAGE_SEVERITY' in data["files"][EXTENSION]
    # The reviewer read the model's files and the brief, not the protected ones.
    reviewed = llm_env.requests[3].prompt
    assert f"### {EXTENSION}" in reviewed
    assert QUESTION in reviewed
    assert "### app/models.py" not in reviewed
    assert "review round 2" in llm_env.requests[5].prompt
    assert llm_env.count == 6
    assert data["usage"]["calls"] == 6


async def test_the_generation_event_counts_the_documents_without_holding_them(
    client: httpx.AsyncClient, account: Account, llm_env: LLMStandIn, codegen_app: FastAPI
) -> None:
    llm_env.script(
        replies.brief(open_questions=[QUESTION]),
        _recorded("01-extension.md"),
        replies.review("approve", "Severe incidents page"),
    )

    await _generate(client, account, roles=["product_manager", "reviewer"])

    async with codegen_app.state.database.transaction() as session:
        rows = (await session.execute(select(outbox.c.envelope))).all()
    [event] = [json.loads(r.envelope) for r in rows]
    assert event["data"]["documents"] == {
        "roles": ["product_manager", "reviewer"],
        "open_questions": 1,
        "review_rounds": 1,
        "review_verdict": "approve",
        "problems": [],
    }
    assert QUESTION not in json.dumps(event)


async def test_the_reviewer_may_not_ask_to_change_a_protected_file(
    client: httpx.AsyncClient, account: Account, llm_env: LLMStandIn
) -> None:
    llm_env.script(
        _recorded("01-extension.md"),
        replies.review("change", "The models are wrong", changes={"app/models.py": "redo"}),
        replies.review("approve", "Fine after all"),
    )

    data = await _generate(client, account, roles=["reviewer"])

    assert "'app/models.py' cannot change" in llm_env.requests[2].last_user
    review = data["documents"]["review"]
    assert [r["verdict"] for r in review["rounds"]] == ["approve"]


async def test_the_budget_spent_during_the_review_stops_it_and_keeps_the_project(
    client: httpx.AsyncClient, account: Account, llm_env: LLMStandIn
) -> None:
    extension = (RECORDED / "01-extension.md").read_text("utf-8")
    llm_env.script(
        replies.text(extension, usage=(97_000, 1_000)),
        replies.review("approve", "never asked"),
    )

    data = await _generate(client, account, roles=["reviewer"], budget={"max_tokens": 100_000})

    review = data["documents"]["review"]
    assert review["rounds"] == []
    assert review["verdict"] is None
    assert "review round 1 not run: the LLM budget is spent" in review["stopped"]
    assert llm_env.count == 1
    assert data["extensions"][0]["status"] == "implemented"
    assert EXTENSION in data["files"]


async def test_the_budget_spent_in_the_engineer_round_keeps_the_reviewed_project(
    client: httpx.AsyncClient, account: Account, llm_env: LLMStandIn
) -> None:
    extension = (RECORDED / "01-extension.md").read_text("utf-8")
    llm_env.script(
        replies.text(extension, usage=(60_000, 1_000)),
        replies.review(
            "change", "never pages", changes={EXTENSION: "fix it"}, usage=(36_000, 1_000)
        ),
    )

    data = await _generate(client, account, roles=["reviewer"], budget={"max_tokens": 100_000})

    review = data["documents"]["review"]
    [only] = review["rounds"]
    assert only["verdict"] == "change"
    assert only["changed"] == []
    assert "round 1 after the review not finished: the LLM budget is spent" in review["stopped"]
    assert review["verdict"] == "change"
    assert 'values.get("severity") == str(PAGE_SEVERITY)' in data["files"][EXTENSION]


async def test_the_llm_engine_plans_from_the_design_and_reviews_what_it_wrote(
    client: httpx.AsyncClient, account: Account, llm_env: LLMStandIn
) -> None:
    spec = {
        "name": "toy",
        "entities": [{"name": "item", "fields": [{"name": "title", "type": "string"}]}],
    }
    llm_env.script(
        replies.design(
            "classDiagram\n  class Item {\n    +str title\n  }",
            files=PLAN["files"],
            apis=[("GET", "/items/{item_id}", "read an item")],
        ),
        replies.text('"""The service."""\n'),
        replies.fenced(MAIN.replace("item_id * 2", "item_id * 3")),
        replies.fenced('"""Tests."""', lang=""),
        replies.fenced(TEST_MAIN),
        replies.fenced("fastapi\nhttpx\npytest\n", lang="text"),
        replies.review("change", "double is tripled", changes={"app/main.py": "double it"}),
        replies.fenced(MAIN),
        replies.review("approve", "doubles now"),
    )

    response = await client.post(
        f"{API}/generate",
        json={"spec": spec, "engine": "llm", "roles": ["architect", "reviewer"]},
        headers=account.headers,
    )

    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert [p["path"] for p in data["plan"]] == [f["path"] for f in PLAN["files"]]
    assert "item_id * 2" in data["files"]["app/main.py"]
    documents = data["documents"]
    assert documents["brief"] is None
    assert "class Item" in documents["design"]["class_diagram"]
    assert [r["verdict"] for r in documents["review"]["rounds"]] == ["change", "approve"]
    assert documents["review"]["rounds"][0]["changed"] == ["app/main.py"]
    assert "The reviewer asks for changes" in llm_env.requests[7].prompt
    assert llm_env.count == 9


async def test_a_design_never_given_falls_back_to_the_plain_file_plan(
    client: httpx.AsyncClient, account: Account, llm_env: LLMStandIn
) -> None:
    spec = {
        "name": "toy",
        "entities": [{"name": "item", "fields": [{"name": "title", "type": "string"}]}],
    }
    llm_env.script(
        replies.design("graph TD\n  A --> B", files=PLAN["files"]),
        replies.design("classDiagram\n  class Other", files=PLAN["files"]),
        *project_replies(),
    )

    response = await client.post(
        f"{API}/generate",
        json={"spec": spec, "engine": "llm", "roles": ["architect"]},
        headers=account.headers,
    )

    assert response.status_code == 200, response.text
    data = response.json()["data"]
    documents = data["documents"]
    assert documents["design"] is None
    [problem] = documents["problems"]
    assert problem["document"] == "design"
    assert "has no class for the entities item" in problem["message"]
    assert "must be Mermaid source starting with `classDiagram`" in (llm_env.requests[1].last_user)
    assert "Reply with the file plan as one JSON object." in llm_env.requests[2].prompt
    assert [p["path"] for p in data["plan"]] == [f["path"] for f in PLAN["files"]]
    assert llm_env.count == 8


async def test_the_server_setting_names_the_roles_when_the_request_does_not(
    client: httpx.AsyncClient, account: Account, llm_env: LLMStandIn, codegen_app: FastAPI
) -> None:
    state = codegen_app.state.codegen
    settings = state.llm_settings.model_copy(update={"llm_roles": "product_manager"})
    codegen_app.state.codegen = replace(state, llm_settings=settings)
    llm_env.script(replies.brief(open_questions=[QUESTION]), _recorded("01-extension.md"))

    data = await _generate(client, account)

    assert data["documents"]["roles"] == ["product_manager"]
    assert data["documents"]["brief"]["open_questions"][0]["question"] == QUESTION


async def test_without_roles_the_generation_asks_no_role_and_has_no_documents(
    client: httpx.AsyncClient, account: Account, llm_env: LLMStandIn
) -> None:
    llm_env.script(_recorded("01-extension.md"))

    data = await _generate(client, account)

    assert data["documents"] is None
    assert llm_env.count == 1


async def test_the_template_engine_has_no_documents_and_refuses_roles(
    client: httpx.AsyncClient, account: Account
) -> None:
    plain = await client.post(f"{API}/generate", json={"spec": _spec()}, headers=account.headers)
    refused = await client.post(
        f"{API}/generate",
        json={"spec": _spec(), "roles": ["reviewer"]},
        headers=account.headers,
    )
    unknown = await client.post(
        f"{API}/generate",
        json={"spec": _spec(), "engine": "hybrid", "roles": ["boss"]},
        headers=account.headers,
    )

    assert plain.status_code == 200, plain.text
    assert plain.json()["data"]["documents"] is None
    assert_error(refused, 422, "VALIDATION_ERROR")
    assert "the template engine has none" in refused.text
    assert_error(unknown, 422, "VALIDATION_ERROR")
