"""``GET /executions/{id}/logs``: output as server-sent events, live while it runs.

httpx's ASGI transport hands over a response only once it is complete, so
the stream is read here by calling the platform's ASGI app directly and
timing each body chunk as it is sent.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
from fastapi import FastAPI

from tests.helpers import Account
from tests.services.executor.api.conftest import Execute, wait_status

TICKER = (
    "import sys, time\n"
    "print('first', flush=True)\n"
    "print('to stderr', file=sys.stderr, flush=True)\n"
    "time.sleep(1.5)\n"
    "print('second', flush=True)\n"
)


async def sse(
    app: FastAPI, path: str, headers: dict[str, str]
) -> AsyncIterator[tuple[float, str, Any]]:
    """(seconds since the request, event, data) of each server-sent event, as they come."""
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    disconnected = asyncio.Event()
    request_sent = False

    async def receive() -> dict[str, Any]:
        nonlocal request_sent
        if not request_sent:
            request_sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await disconnected.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        await queue.put(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("203.0.113.7", 50000),
        "server": ("testserver", 80),
    }
    started = time.monotonic()
    task = asyncio.ensure_future(app(scope, receive, send))
    buffer = ""
    try:
        while True:
            message = await asyncio.wait_for(queue.get(), 30)
            if message["type"] == "http.response.start":
                assert message["status"] == 200, message
                continue
            buffer += message.get("body", b"").decode()
            while "\r\n\r\n" in buffer:
                block, buffer = buffer.split("\r\n\r\n", 1)
                fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
                if "event" in fields:
                    yield time.monotonic() - started, fields["event"], json.loads(fields["data"])
            if not message.get("more_body", False):
                return
    finally:
        disconnected.set()
        await asyncio.wait_for(task, 10)


async def test_output_streams_live_while_the_program_runs(
    platform: FastAPI, client: httpx.AsyncClient, owner: Account, execute: Execute
) -> None:
    execution_id = (await execute(files={"main.py": TICKER}, entry="main.py")).json()["data"]["id"]
    seen: list[tuple[float, str, Any]] = []
    status_when_first = None

    async for at, event, data in sse(
        platform, f"/api/v1/executions/{execution_id}/logs", owner.headers
    ):
        seen.append((at, event, data))
        if event == "stdout" and "first" in data["text"]:
            status = await client.get(f"/api/v1/executions/{execution_id}", headers=owner.headers)
            status_when_first = status.json()["data"]["status"]

    events = [(event, data) for _, event, data in seen]
    assert ("status", {"status": "running"}) in events
    text = {"stdout": "", "stderr": ""}
    for event, data in events:
        if event in text:
            text[event] += data["text"]
    assert text == {"stdout": "first\nsecond\n", "stderr": "to stderr\n"}
    assert events[-1] == (
        "end",
        {"status": "finished", "verdict": "succeeded", "exit_code": 0, "reason": None},
    )
    # "first" arrived while the program was still running, well before it ended.
    assert status_when_first == "running"
    first_at = next(at for at, event, data in seen if event == "stdout" and "first" in data["text"])
    assert seen[-1][0] - first_at > 1.0


async def test_a_finished_execution_replays_its_output(
    platform: FastAPI, owner: Account, execute: Execute
) -> None:
    body = {
        "files": {
            "main.py": "import sys\n"
            "print('out', flush=True)\n"
            "sys.stdout.buffer.write(b'\\xff\\n')\n"
            "sys.exit(2)"
        },
        "entry": "main.py",
        "wait": True,
    }
    execution_id = (await execute(**body)).json()["data"]["id"]

    events = [
        (event, data)
        async for _, event, data in sse(
            platform, f"/api/v1/executions/{execution_id}/logs", owner.headers
        )
    ]

    assert events == [
        ("stdout", {"text": "out\n\ufffd\n"}),
        ("end", {"status": "finished", "verdict": "failed", "exit_code": 2, "reason": None}),
    ]


async def test_a_queued_execution_streams_once_it_starts(
    platform: FastAPI, client: httpx.AsyncClient, owner: Account, execute: Execute
) -> None:
    blockers = [
        (await execute(files={"main.py": "import time\ntime.sleep(1)"}, entry="main.py")).json()
        for _ in range(2)
    ]
    execution_id = (await execute(files={"main.py": "print('late')"}, entry="main.py")).json()[
        "data"
    ]["id"]
    assert (await client.get(f"/api/v1/executions/{execution_id}", headers=owner.headers)).json()[
        "data"
    ]["status"] == "queued"

    events = [
        event
        async for _, event, _ in sse(
            platform, f"/api/v1/executions/{execution_id}/logs", owner.headers
        )
    ]

    assert events == ["status", "stdout", "end"]
    for blocker in blockers:
        await wait_status(client, owner, blocker["data"]["id"], "finished")
