"""codegen's progress reaches the run's event stream while the generate step waits.

The platform runs in one process (codegen reached over the in-process transport); the
stand-in streams its answers and a :class:`~tests.llm_standin.gate.Gate` holds the
answers after the first files back, so the notes the test reads are read while the
generate step is still running, however fast the machine is.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from devgen.kit.settings import Settings
from devgen.runtime.allinone import build_platform
from tests.helpers import Account, eventually, register
from tests.llm_standin import LLMStandIn, replies
from tests.llm_standin.gate import Gate
from tests.llm_standin.server import configure_codegen
from tests.services.codegen.llm_support import PLAN, project_replies

SMALL = "A notebook app keeps notes. Each note has a title and a body."
TERMINAL = {"succeeded", "failed", "cancelled"}
PROGRESS = "orchestrator.step.progress"


@pytest.fixture
def platform_services() -> tuple[str, ...]:
    """What analyze and generate call (storage keeps large step outputs)."""
    return ("identity", "codegen", "storage", "orchestrator")


@pytest.fixture
def standin(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[LLMStandIn]:
    """A stand-in LLM that codegen streams from (read when the platform starts)."""
    with LLMStandIn() as server:
        configure_codegen(
            monkeypatch,
            server,
            {
                "DEVGEN_LLM_STREAM": "true",
                "DEVGEN_ORCHESTRATOR_PROGRESS_POLL_SECONDS": "0.2",
                # Every streamed note kept (the one-a-second throttle is not what is tested),
                # and a stalled stream cut soon.
                "DEVGEN_CODEGEN_PROGRESS_INTERVAL_SECONDS": "0",
                "DEVGEN_LLM_STREAM_IDLE_SECONDS": "2",
            },
        )
        yield server


@pytest.fixture
async def platform(
    settings: Settings, platform_services: tuple[str, ...], standin: LLMStandIn
) -> AsyncIterator[FastAPI]:
    """The platform, started once the LLM settings are in the environment."""
    app = build_platform(settings, services=platform_services, migrate_on_startup=False)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def owner(client: httpx.AsyncClient) -> Account:
    """A signed-in tenant owner."""
    return await register(client)


async def _generate_only(client: httpx.AsyncClient, account: Account) -> str:
    response = await client.post(
        "/api/v1/workflows",
        json={
            "name": "analyze and generate",
            "steps": [
                {"id": "analyze", "type": "analyze"},
                {"id": "generate", "type": "generate", "needs": ["analyze"]},
            ],
        },
        headers=account.headers,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["data"]["id"])


def _sse(text: str) -> list[dict[str, Any]]:
    events = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "data" in fields:
            events.append(json.loads(fields["data"]))
    return events


async def _events(client: httpx.AsyncClient, account: Account, run_id: str) -> list[dict]:
    response = await client.get(
        f"/api/v1/runs/{run_id}/events", params={"follow": "false"}, headers=account.headers
    )
    assert response.status_code == 200, response.text
    return _sse(response.text)


async def _run(client: httpx.AsyncClient, account: Account, run_id: str) -> dict:
    return (await client.get(f"/api/v1/runs/{run_id}", headers=account.headers)).json()["data"]


def _in_flight(events: list[dict]) -> list[dict]:
    """Codegen's notes of work still going on (``writing``: a streamed answer's tokens)."""
    return [
        e["data"]
        for e in events
        if e["type"] == PROGRESS and e["step"] == "generate" and e["data"].get("state") == "writing"
    ]


def _written(events: list[dict]) -> list[str]:
    """The files codegen's notes say were written, in order."""
    return [
        e["data"]["file"]
        for e in events
        if e["type"] == PROGRESS
        and e["step"] == "generate"
        and e["data"].get("state") == "done"
        and e["data"].get("file")
    ]


async def test_an_llm_runs_event_stream_shows_the_files_written_while_generate_runs(
    client: httpx.AsyncClient, owner: Account, standin: LLMStandIn
) -> None:
    plan_and_files = project_replies()
    # The plan, app/__init__.py, app/main.py; then tests/__init__.py stalls mid-stream
    # (cut after DEVGEN_LLM_STREAM_IDLE_SECONDS) and its retry waits at the gate.
    stalled = replace(
        replies.fenced('"""Tests."""\n' + "# a long comment line\n" * 20, lang=""),
        chunk_chars=40,
        stall_after=8,
    )
    standin.script(*plan_and_files[:3], stalled)
    gate = Gate(standin, plan_and_files[3:])
    workflow_id = await _generate_only(client, owner)
    started = await client.post(
        "/api/v1/runs",
        json={
            "requirement": SMALL,
            "engine": "llm",
            "analyst": "template",
            "workflow_id": workflow_id,
            "budget": {"max_tokens": 200_000},
        },
        headers=owner.headers,
    )
    assert started.status_code == 202, started.text
    run_id = started.json()["data"]["id"]
    try:
        events = await eventually(
            lambda: _events(client, owner, run_id),
            until=lambda found: (
                _written(found) == ["app/__init__.py", "app/main.py"]
                and any(n.get("file") == "tests/__init__.py" for n in _in_flight(found))
                and gate.waiting.is_set()
            ),
            timeout=120,
            what="notes of the first two files written, of the third while it streamed, and "
            "its stalled stream cut (its retry waits at the gate)",
        )
        run = await _run(client, owner, run_id)
        assert {s["step"]: s["state"] for s in run["steps"]}["generate"] == "running"
        # The third file's retry is held at the gate: generate cannot have ended.
        notes = [e["data"] for e in events if e["type"] == PROGRESS and e["step"] == "generate"]
        main = next(n for n in notes if n.get("file") == "app/main.py" and n["state"] == "done")
        assert main["source"] == "codegen"
        assert main["role"] == "engineer"
        assert main["tokens"] > 0
        assert "app/main.py" in main["message"]
        assert f"{main['tokens']} tokens" in main["message"]
        streaming = next(n for n in _in_flight(events) if n.get("file") == "tests/__init__.py")
        assert streaming["tokens"] > 0  # what the stream had delivered when it stalled
        assert f"is writing tests/__init__.py: {streaming['tokens']} tokens" in streaming["message"]
    finally:
        gate.open()
    done = await eventually(
        lambda: _run(client, owner, run_id),
        until=lambda found: found["state"] in TERMINAL,
        timeout=120,
        what="the run finished",
    )
    assert done["state"] == "succeeded", done["error"]
    events = await _events(client, owner, run_id)
    assert _written(events) == [f["path"] for f in PLAN["files"]]
    generate_ended = next(
        i
        for i, e in enumerate(events)
        if e["type"] == "orchestrator.step.succeeded" and e["step"] == "generate"
    )
    last_note = max(i for i, e in enumerate(events) if e["type"] == PROGRESS)
    assert last_note < generate_ended  # every file's final note came before the step ended


async def test_a_template_run_has_no_codegen_progress(
    client: httpx.AsyncClient, owner: Account, standin: LLMStandIn
) -> None:
    workflow_id = await _generate_only(client, owner)
    started = await client.post(
        "/api/v1/runs",
        json={"requirement": SMALL, "engine": "template", "workflow_id": workflow_id},
        headers=owner.headers,
    )
    run_id = started.json()["data"]["id"]
    done = await eventually(
        lambda: _run(client, owner, run_id),
        until=lambda found: found["state"] in TERMINAL,
        timeout=120,
        what="the run finished",
    )
    assert done["state"] == "succeeded", done["error"]
    events = await _events(client, owner, run_id)
    assert [e for e in events if e["type"] == PROGRESS and e["step"] == "generate"] == []
    assert standin.requests == []
