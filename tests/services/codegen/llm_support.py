"""A tiny project the stand-in's engineer "writes", and helpers to script a generation."""

from __future__ import annotations

from typing import Any

from devgen.services.codegen.engines.llm import LLMSettings
from tests.llm_standin import LLMStandIn, replies
from tests.llm_standin.replies import Reply

# Deliberately not in ruff's layout (quotes, blank lines, import order): the engine must
# lay the files out itself for `ruff format --check` to pass.
MAIN = """\
from fastapi import FastAPI

app = FastAPI()
@app.get('/health')
def health() -> dict[str, str]:
    return {'status': 'ok'}
@app.get('/items/{item_id}')
def read_item(item_id: int) -> dict[str, int]:
    return {'id': item_id, 'double': item_id * 2}
"""

BROKEN_MAIN = MAIN.replace("item_id * 2", "item_id * 3")

TEST_MAIN = """\
from app.main import app
from fastapi.testclient import TestClient

client = TestClient(app)


def test_health():
    assert client.get('/health').json() == {'status': 'ok'}


def test_item_is_doubled():
    assert client.get('/items/21').json() == {'id': 21, 'double': 42}
"""

PLAN: dict[str, Any] = {
    "files": [
        {"path": "app/__init__.py", "purpose": "package marker"},
        {"path": "app/main.py", "purpose": "the FastAPI app"},
        {"path": "tests/__init__.py", "purpose": "package marker"},
        {"path": "tests/test_main.py", "purpose": "tests", "depends_on": ["app/main.py"]},
        {"path": "requirements.txt", "purpose": "dependencies"},
    ],
    "notes": "one module",
}


def project_replies(main: str = MAIN) -> list[Reply]:
    """The architect's plan, then each planned file, as a model would answer."""
    return [
        replies.json_answer(PLAN),
        replies.text('"""The service."""\n'),
        replies.fenced(main),
        replies.fenced('"""Tests."""', lang=""),
        replies.fenced(TEST_MAIN, prose="Here are the tests for the API:"),
        replies.fenced("fastapi\nhttpx\npytest\n", lang="text"),
    ]


def llm_settings(standin: LLMStandIn, provider: str = "openai", **overrides: Any) -> LLMSettings:
    """Settings pointing at the stand-in, with short back-offs so retries are quick."""
    base_url = standin.anthropic_base_url if provider == "anthropic" else standin.openai_base_url
    values: dict[str, Any] = {
        "llm_provider": provider,
        "llm_base_url": base_url,
        "llm_api_key": standin.api_key,
        "llm_model": standin.model,
        "llm_backoff_seconds": 0.01,
        "llm_retry_after_max_seconds": 5,
        **overrides,
    }
    return LLMSettings(**values)
