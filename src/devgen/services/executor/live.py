"""Live output of the executions running in this process, for the logs stream.

Each running execution has a :class:`LiveOutput`: the chunks so far (bounded
by the execution's own per-stream cap) and the listeners that joined. A
listener gets everything already produced, then each chunk as it comes,
then the end. Once an execution is finished its output is read from the
database instead.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Literal

from devgen.services.executor.sandbox import OutputChunk

EventKind = Literal["stdout", "stderr", "status", "end"]


@dataclass(frozen=True, slots=True)
class LiveEvent:
    """A chunk of output (bytes), a status change, or the end (with the verdict)."""

    kind: EventKind
    data: bytes = b""
    text: str = ""


class LiveOutput:
    """The output of one running execution and its listeners."""

    def __init__(self) -> None:
        self._events: list[LiveEvent] = []
        self._listeners: set[asyncio.Queue[LiveEvent]] = set()
        self.ended = False

    def publish(self, event: LiveEvent) -> None:
        """Record ``event`` and hand it to every listener (never blocks)."""
        if self.ended:
            return
        self._events.append(event)
        for queue in self._listeners:
            queue.put_nowait(event)
        if event.kind == "end":
            self.ended = True

    def on_output(self, chunk: OutputChunk) -> None:
        """The sandbox's ``on_output`` callback."""
        self.publish(LiveEvent(chunk.stream, chunk.data))

    async def follow(self) -> AsyncIterator[LiveEvent]:
        """Everything so far, then each new event, up to and including the end."""
        queue: asyncio.Queue[LiveEvent] = asyncio.Queue()
        backlog = list(self._events)
        if not self.ended:
            self._listeners.add(queue)
        try:
            for event in backlog:
                yield event
                if event.kind == "end":
                    return
            while True:
                event = await queue.get()
                yield event
                if event.kind == "end":
                    return
        finally:
            self._listeners.discard(queue)


class LiveHub:
    """The :class:`LiveOutput` of every execution this process runs."""

    def __init__(self) -> None:
        self._outputs: dict[uuid.UUID, LiveOutput] = {}

    def open(self, execution_id: uuid.UUID) -> LiveOutput:
        """Start recording an execution's output."""
        output = self._outputs[execution_id] = LiveOutput()
        return output

    def get(self, execution_id: uuid.UUID) -> LiveOutput | None:
        """The live output of a running execution, if it runs here."""
        return self._outputs.get(execution_id)

    def close(self, execution_id: uuid.UUID, verdict: str) -> None:
        """Send the end to the listeners and forget the execution."""
        output = self._outputs.pop(execution_id, None)
        if output is not None:
            output.publish(LiveEvent("end", text=verdict))
