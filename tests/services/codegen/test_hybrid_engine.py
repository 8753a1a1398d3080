"""The hybrid engine through codegen's API, against the stand-in.

The template builds the project; the model's answers (from the helpdesk-sla recording,
or scripted here) add an extension; repairs may not touch what the template built.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from devgen.kit.settings import Settings
from devgen.runtime.allinone import build_platform
from devgen.services.codegen.analyst import analyze
from devgen.services.codegen.engines.hybrid import content_hash
from tests.helpers import Account, assert_error
from tests.llm_standin import LLMStandIn, replies
from tests.llm_standin.recorded import RECORDINGS
from tests.llm_standin.server import configure_codegen

ROOT = Path(__file__).resolve().parents[3]
API = "/api/v1/codegen"
SENTENCE = "Incidents with severity 1 page the on-call engineer"
RECORDED = RECORDINGS / "helpdesk-sla"


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


async def _generate(client: httpx.AsyncClient, account: Account) -> dict[str, Any]:
    response = await client.post(
        f"{API}/generate",
        json={"spec": _spec(), "engine": "hybrid", "requirement": _requirement()},
        headers=account.headers,
    )
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def test_generation_keeps_the_template_project_and_adds_the_extension(
    client: httpx.AsyncClient, account: Account, llm_env: LLMStandIn
) -> None:
    llm_env.script(_recorded("01-extension.md"))

    data = await _generate(client, account)

    assert data["engine"] == "hybrid"
    assert data["generator"] == "devgen-hybrid-engine"
    [extension] = data["extensions"]
    assert extension["sentence"] == SENTENCE
    assert extension["status"] == "implemented"
    assert extension["name"] == "page_on_call"
    assert extension["files"] == [
        "app/extensions/page_on_call.py",
        "tests/test_ext_page_on_call.py",
    ]
    assert len(extension["tests"]) == 3
    # Every template file is protected, with the hash of what was returned.
    protected = data["protected"]
    assert "tests/test_incident.py" in protected
    assert "app/extensions/__init__.py" in protected
    assert not set(extension["files"]) & set(protected)
    assert all(content_hash(data["files"][p]) == h for p, h in protected.items())
    assert set(data["template_tests"]) < set(data["tests"])
    assert "extensions.after_write_incident(ctx, row)" in data["files"]["app/rules.py"]
    # The model saw the requirement, the stories and the generated project.
    prompt = llm_env.requests[0].prompt
    assert "An IT team tracks incidents." in prompt
    assert "I want" in prompt
    assert "### app/models.py" in prompt
    assert SENTENCE in prompt


async def test_an_answer_writing_a_protected_file_is_sent_back(
    client: httpx.AsyncClient, account: Account, llm_env: LLMStandIn
) -> None:
    greedy = (
        "STATUS: implemented\nNAME: page_on_call\nEXPLANATION: pages from the rules.\n\n"
        "```python app/rules.py\nPAGES = []\n```\n"
    )
    llm_env.script(replies.text(greedy), _recorded("01-extension.md"))

    data = await _generate(client, account)

    assert llm_env.count == 2
    problem = llm_env.requests[1].last_user
    assert "`app/rules.py`: protected" in problem
    assert "the answer has no `app/extensions/page_on_call.py`" in problem
    assert "PAGES" not in data["files"]["app/rules.py"]
    assert data["extensions"][0]["status"] == "implemented"


async def test_a_sentence_the_model_cannot_build_keeps_its_explanation(
    client: httpx.AsyncClient, account: Account, llm_env: LLMStandIn
) -> None:
    llm_env.script(
        replies.text(
            "STATUS: not_implemented\nEXPLANATION: Paging needs the on-call rota and a pager "
            "service; neither is in the requirement."
        )
    )

    data = await _generate(client, account)

    [extension] = data["extensions"]
    assert extension["status"] == "not_implemented"
    assert extension["explanation"].startswith("Paging needs the on-call rota")
    assert extension["files"] == []
    assert not any(p.startswith("tests/test_ext_") for p in data["files"])


WEAKENING_REPAIR = """\
The incident tests are too strict; I relaxed them and removed the rule tests.

STATUS: implemented
NAME: page_on_call
EXPLANATION: fixed the comparison.

DELETE: tests/test_rules_incident.py

```python tests/test_incident.py
def test_create_incident():
    assert True
```

```python tests/conftest.py
def pytest_collection_modifyitems(items):
    items[:] = [item for item in items if "ext" in item.nodeid]
```

```python tests/test_ext_page_on_call.py
import pytest

pytestmark = pytest.mark.skip("flaky")


def test_nothing():
    assert True
```

```python app/extensions/page_on_call.py
{module}```
"""


async def test_a_repair_that_deletes_or_weakens_protected_tests_is_refused(
    client: httpx.AsyncClient, account: Account, llm_env: LLMStandIn
) -> None:
    llm_env.script(_recorded("01-extension.md"))
    generated = await _generate(client, account)
    files = generated["files"]
    fixed = (RECORDED / "02-repair.md").read_text("utf-8")
    module = fixed.split("```python app/extensions/page_on_call.py\n")[1].split("```")[0]
    llm_env.script(replies.text(WEAKENING_REPAIR.format(module=module)))

    response = await client.post(
        f"{API}/repair",
        json={
            "engine": "hybrid",
            "files": files,
            "protected": generated["protected"],
            "extensions": generated["extensions"],
            "failures": [
                {
                    "test": "tests/test_ext_page_on_call.py::"
                    "test_a_severity_1_incident_pages_the_on_call_engineer",
                    "message": "assert 0 == 1",
                }
            ],
        },
        headers=account.headers,
    )

    assert response.status_code == 200, response.text
    data = response.json()["data"]
    refused = {(r["action"], r["path"]): r["reason"] for r in data["refused"]}
    assert set(refused) == {
        ("delete", "tests/test_rules_incident.py"),
        ("write", "tests/test_incident.py"),
        ("write", "tests/conftest.py"),
        ("write", "tests/test_ext_page_on_call.py"),
    }
    assert refused[("write", "tests/test_incident.py")].startswith("protected")
    assert "skipped" in refused[("write", "tests/test_ext_page_on_call.py")]
    # The protected files are byte for byte what the template built; the fix went in.
    for path, digest in generated["protected"].items():
        assert content_hash(data["files"][path]) == digest, path
    assert (
        data["files"]["tests/test_ext_page_on_call.py"] == files["tests/test_ext_page_on_call.py"]
    )
    assert data["changed"] == ["app/extensions/page_on_call.py"]
    assert (
        'values.get("severity") == PAGE_SEVERITY' in data["files"]["app/extensions/page_on_call.py"]
    )


async def test_a_repair_of_a_project_whose_protected_files_changed_is_refused(
    client: httpx.AsyncClient, account: Account, llm_env: LLMStandIn
) -> None:
    llm_env.script(_recorded("01-extension.md"))
    generated = await _generate(client, account)
    files = {**generated["files"], "tests/test_incident.py": "def test_ok():\n    pass\n"}

    response = await client.post(
        f"{API}/repair",
        json={
            "engine": "hybrid",
            "files": files,
            "protected": generated["protected"],
            "extensions": generated["extensions"],
            "failures": [{"message": "failed"}],
        },
        headers=account.headers,
    )

    error = assert_error(response, 422, "GENERATION_FAILED")
    assert "tests/test_incident.py: changed" in error["message"]
    assert llm_env.count == 1  # the model was not asked
