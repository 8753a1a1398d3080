"""Following a run to its end through its event stream (``GET /runs/{id}/events``).

The stream says when something happened; the run itself (``GET /runs/{id}``)
is read only when a step or the run has ended, to show it in full. When the
stream drops, the run is read once (nothing that happened meanwhile is
missed) and the stream is opened again after the last event seen
(``Last-Event-ID``); while it cannot be opened, the run is polled instead.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from devgen.cli.runs import TERMINAL, Platform

STEP_ENDED = frozenset(
    {
        "orchestrator.step.succeeded",
        "orchestrator.step.failed",
        "orchestrator.step.skipped",
        "orchestrator.step.cancelled",
    }
)
RUN_ENDED = frozenset(
    {"orchestrator.run.succeeded", "orchestrator.run.failed", "orchestrator.run.cancelled"}
)
STEP_STARTED = "orchestrator.step.started"
POLL_SECONDS = 1.0
"""How often the run is read while its stream cannot be opened."""
_STREAM_TIMEOUT = httpx.Timeout(10.0, read=60.0)
"""The server sends a keep-alive every 15 s: a minute of silence is a dead connection."""


class StreamUnavailable(Exception):
    """The event stream could not be opened (or answered with an error)."""


@dataclass
class RunFollower:
    """Follows one run; ``on_run`` sees the run each time it is read, ``on_status`` progress."""

    platform: Platform
    run_id: str
    on_run: Callable[[dict[str, Any]], Awaitable[None]]
    on_status: Callable[[str], None] = lambda _: None
    last_event_id: int = 0
    poll_seconds: float = POLL_SECONDS

    async def follow(self) -> dict[str, Any]:
        """Wait for the run to end; the run as it ended."""
        while True:
            unavailable = False
            try:
                finished = await self._from_stream()
            except (httpx.HTTPError, StreamUnavailable):
                finished, unavailable = None, True
            if finished is not None:
                return finished
            # The stream dropped or ended early (its credential expired): catch up by reading.
            current = await self._read()
            if current["state"] in TERMINAL:
                return current
            if unavailable:
                await asyncio.sleep(self.poll_seconds)

    async def _read(self) -> dict[str, Any]:
        current: dict[str, Any] = await self.platform.data("GET", f"/api/v1/runs/{self.run_id}")
        await self.on_run(current)
        return current

    async def _from_stream(self) -> dict[str, Any] | None:
        """Handle the stream's events; the finished run, or None when the stream ended first."""
        async for event in self._events():
            self.last_event_id = max(self.last_event_id, int(event["seq"]))
            kind = event["type"]
            if kind == STEP_STARTED and event.get("step"):
                self.on_status(f"{event['step']}…")
            if kind in STEP_ENDED or kind in RUN_ENDED:
                current = await self._read()
                if current["state"] in TERMINAL:
                    return current
        return None

    async def _events(self) -> AsyncIterator[dict[str, Any]]:
        headers = {"Authorization": f"Bearer {self.platform.token}", "Accept": "text/event-stream"}
        if self.last_event_id:
            headers["Last-Event-ID"] = str(self.last_event_id)
        async with self.platform.http.stream(
            "GET", f"/api/v1/runs/{self.run_id}/events", headers=headers, timeout=_STREAM_TIMEOUT
        ) as response:
            if response.status_code != 200:
                await response.aread()
                raise StreamUnavailable(f"HTTP {response.status_code}")
            async for event in parse_events(response.aiter_lines()):
                yield event


async def parse_events(lines: AsyncIterator[str]) -> AsyncIterator[dict[str, Any]]:
    """The run events (their JSON ``data``) of a server-sent event stream's lines.

    Events without an ``id`` (the stream's own closing note) are not run events.
    """
    fields: dict[str, str] = {}
    async for line in lines:
        if line:
            if not line.startswith(":"):  # a keep-alive comment otherwise
                name, _, value = line.partition(":")
                fields[name] = fields.get(name, "") + value.removeprefix(" ")
            continue
        if fields.get("id") and "data" in fields:
            yield json.loads(fields["data"])
        fields = {}
