"""``GET /executions/{id}/logs``: output as server-sent events, live while it runs.

httpx's ASGI transport hands over a response only once it is complete, so
the stream is read here by calling the platform's ASGI app directly, each
body chunk as it is sent.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
from fastapi import FastAPI

from tests.helpers import Account, eventually
from tests.services.executor.api.conftest import Execute, wait_status

# Writes to both streams, then runs until it is cancelled: whatever the test
# sees of it before the cancel was streamed while it ran.
SLEEPER = {
    "files": {"main.py": "import time\nprint('started', flush=True)\ntime.sleep(60)"},
    "entry": "main.py",
    "limits": {"wall_time_s": 60},
}

TICKER = {
    "files": {
        "main.py": "import sys, time\n"
        "print('first', flush=True)\n"
        "print('to stderr', file=sys.stderr, flush=True)\n"
        "time.sleep(60)\n"
    },
    "entry": "main.py",
    "limits": {"wall_time_s": 60},
}


async def sse(
    app: FastAPI, path: str, headers: dict[str, str], connected: asyncio.Event | None = None
) -> AsyncIterator[tuple[str, Any]]:
    """(event, data) of each server-sent event, as they come.

    ``connected`` is set once the response started: the stream is following.
    """
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
    task = asyncio.ensure_future(app(scope, receive, send))
    buffer = ""
    try:
        while True:
            message = await asyncio.wait_for(queue.get(), 30)
            if message["type"] == "http.response.start":
                assert message["status"] == 200, message
                if connected is not None:
                    connected.set()
                continue
            buffer += message.get("body", b"").decode()
            while "\r\n\r\n" in buffer:
                block, buffer = buffer.split("\r\n\r\n", 1)
                fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
                if "event" in fields:
                    yield fields["event"], json.loads(fields["data"])
            if not message.get("more_body", False):
                return
    finally:
        disconnected.set()
        await asyncio.wait_for(task, 10)


async def _cancel(client: httpx.AsyncClient, account: Account, execution_id: str) -> None:
    response = await client.post(
        f"/api/v1/executions/{execution_id}/cancel", headers=account.headers
    )
    assert response.status_code == 200, response.text


async def test_output_streams_live_while_the_program_runs(
    platform: FastAPI, client: httpx.AsyncClient, owner: Account, execute: Execute
) -> None:
    execution_id = (await execute(**TICKER)).json()["data"]["id"]
    events: list[tuple[str, Any]] = []
    status_when_both = None

    async for event, data in sse(
        platform, f"/api/v1/executions/{execution_id}/logs", owner.headers
    ):
        events.append((event, data))
        text = "".join(d["text"] for e, d in events if e in ("stdout", "stderr"))
        if status_when_both is None and "first" in text and "to stderr" in text:
            status = await client.get(f"/api/v1/executions/{execution_id}", headers=owner.headers)
            status_when_both = status.json()["data"]["status"]
            await _cancel(client, owner, execution_id)

    # The program cannot end by itself for a minute: both lines came live.
    assert status_when_both == "running"

    assert ("status", {"status": "running"}) in events
    text = {"stdout": "", "stderr": ""}
    for event, data in events:
        if event in text:
            text[event] += data["text"]
    assert text == {"stdout": "first\n", "stderr": "to stderr\n"}
    assert events[-1][0] == "end"
    assert (events[-1][1]["status"], events[-1][1]["verdict"]) == ("finished", "killed")


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
        async for event, data in sse(
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
    # Both workers busy until cancelled, so the next one stays queued until then.
    blockers = [(await execute(**SLEEPER)).json()["data"]["id"] for _ in range(2)]
    for blocker in blockers:
        await wait_status(client, owner, blocker, "running")
    execution_id = (await execute(**SLEEPER)).json()["data"]["id"]
    assert (await client.get(f"/api/v1/executions/{execution_id}", headers=owner.headers)).json()[
        "data"
    ]["status"] == "queued"

    connected = asyncio.Event()
    events: list[str] = []

    async def follow() -> None:
        path = f"/api/v1/executions/{execution_id}/logs"
        async for event, data in sse(platform, path, owner.headers, connected):
            events.append(event)
            if event == "stdout" and "started" in data["text"]:
                await _cancel(client, owner, execution_id)

    following = asyncio.ensure_future(follow())
    try:
        await eventually(connected.is_set, what="the log stream to connect")
        for blocker in blockers:  # the queued one starts, followed since it was queued
            await _cancel(client, owner, blocker)
        await following
    finally:
        following.cancel()

    assert events == ["status", "stdout", "end"]
