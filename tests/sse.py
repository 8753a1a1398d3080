"""Server-sent event streams in tests: the platform over real HTTP, and a reader of events.

The in-process transport hands over a response only once it has ended, so a
test that watches a stream as it goes serves the platform with uvicorn on a
loopback port.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import uvicorn
from fastapi import FastAPI

from tests.runtime.processes import free_port

DEADLINE_SECONDS = 15.0


@asynccontextmanager
async def served_over_http(platform: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the (already started) platform served over real HTTP."""
    port = free_port()
    config = uvicorn.Config(
        platform,
        host="127.0.0.1",
        port=port,
        lifespan="off",
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(DEADLINE_SECONDS):
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
    try:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", timeout=DEADLINE_SECONDS
        ) as http:
            yield http
    finally:
        server.should_exit = True
        await task


class EventStream:
    """The events of one open SSE response, read as they arrive."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._lines = response.aiter_lines()

    async def next(self) -> dict | None:
        """The next event (``{id, event, data}``), None once the server ended the stream."""
        fields: dict[str, str] = {}
        async for line in self._lines:
            if not line:
                if "data" in fields:
                    return {
                        "id": fields.get("id"),
                        "event": fields.get("event"),
                        "data": json.loads(fields["data"]),
                    }
                fields = {}
                continue
            if line.startswith(":"):
                continue  # a keep-alive comment
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")
        return None

    async def rest(self) -> list[dict]:
        """Every event until the server ends the stream; fails the test after the deadline."""
        events = []
        async with asyncio.timeout(DEADLINE_SECONDS):
            while (event := await self.next()) is not None:
                events.append(event)
        return events
