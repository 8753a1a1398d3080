"""Step outputs kept in real storage (over HTTP): stored once, handed along, removed at the end."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from devgen.services.orchestrator.calls import CallFailed
from devgen.services.orchestrator.outputs import OutputCache, OutputStore
from tests.helpers import Account, register

PROJECT = {f"app/module_{i}.py": f"VALUE = {i}\n" * 50 for i in range(20)}


@pytest.fixture
def platform_services() -> tuple[str, ...]:
    """Storage and who signs its users in."""
    return ("identity", "storage")


class AsUser:
    """The calls an output store makes, sent to the platform as ``account``; each one noted."""

    def __init__(self, client: httpx.AsyncClient, account: Account) -> None:
        self.client = client
        self.account = account
        self.sent: list[tuple[str, str]] = []

    async def request(self, service: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        self.sent.append((method, path))
        headers = {**self.account.headers, **(kwargs.pop("headers", None) or {})}
        return await self.client.request(method, path, headers=headers, **kwargs)

    async def call(
        self, service: str, method: str, path: str, *, expect=(200, 201), **kwargs: Any
    ) -> Any:
        response = await self.request(service, method, path, **kwargs)
        if response.status_code not in expect:
            raise CallFailed(
                service, response.status_code, "FAILED", response.text, retryable=False
            )
        return response.json().get("data") if response.content else None

    def downloads(self) -> int:
        return sum(1 for method, path in self.sent if method == "GET" and path.endswith("/content"))


async def test_files_stored_by_one_step_reach_the_next_without_a_download(client):
    calls = AsUser(client, await register(client))
    store = OutputStore(calls, inline_bytes=1024, cache=OutputCache())  # type: ignore[arg-type]
    run_id = str(uuid.uuid4())

    kept = await store.externalise({"files": PROJECT}, run_id=run_id, key="generate-1-output")

    assert kept["files"]["$ref"] == "storage:file"
    for _ in range(3):  # validate, test and package
        assert await store.resolve(kept["files"]) == PROJECT
    assert calls.downloads() == 0


async def test_another_process_downloads_an_output_once(client):
    account = await register(client)
    writer = OutputStore(AsUser(client, account), inline_bytes=1024, cache=OutputCache())  # type: ignore[arg-type]
    kept = await writer.externalise({"files": PROJECT}, run_id="r", key="generate-1-output")
    reader_calls = AsUser(client, account)
    reader = OutputStore(reader_calls, inline_bytes=1024, cache=OutputCache())  # type: ignore[arg-type]

    first = await reader.resolve(kept["files"])
    second = await reader.resolve(kept["files"])

    assert first == second == PROJECT
    assert reader_calls.downloads() == 1


async def test_removing_a_run_deletes_every_output_labelled_with_it(client):
    calls = AsUser(client, await register(client))
    store = OutputStore(calls, inline_bytes=1024)  # type: ignore[arg-type]
    run_id, other_run = str(uuid.uuid4()), str(uuid.uuid4())
    await store.externalise({"files": PROJECT, "tests": ["x" * 2000]}, run_id=run_id, key="g-1")
    await store.externalise({"files": PROJECT}, run_id=other_run, key="g-1")

    assert await store.remove_run(run_id) == 2

    def labelled(run: str) -> dict[str, Any]:
        return {"label": f"devgen-run={run}"}

    left = await client.get("/api/v1/files", params=labelled(run_id), headers=calls.account.headers)
    assert left.json()["data"] == []
    kept = await client.get(
        "/api/v1/files", params=labelled(other_run), headers=calls.account.headers
    )
    assert len(kept.json()["data"]) == 1
