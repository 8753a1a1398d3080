"""An execution's output as a stream of events, live while it runs.

Events (each ``data`` is JSON):

- ``status`` ``{"status": "running"}`` when it starts;
- ``stdout`` / ``stderr`` ``{"text": "..."}``, in the order produced (bytes
  that are not UTF-8 become U+FFFD; the stored result keeps the exact bytes);
- ``end`` ``{"status": "finished", "verdict": ..., "exit_code": ..., "reason": ...}``,
  always last.

An execution running in this process is followed through the live hub
(everything so far, then each chunk as it comes); one finished is replayed
from the database; one queued or running elsewhere is watched until one of
those applies.
"""

from __future__ import annotations

import asyncio
import codecs
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

from devgen.kit.db import Database
from devgen.services.executor import repository
from devgen.services.executor.live import LiveEvent, LiveHub
from devgen.services.executor.models import Execution

_REPLAY_CHUNK = 64 * 1024
_POLL_S = 0.25


@dataclass(frozen=True, slots=True)
class StreamEvent:
    """One server-sent event: its name and JSON data."""

    event: str
    data: str


class _Decoders:
    """Incremental UTF-8 decoding per stream: a character split across chunks survives."""

    def __init__(self) -> None:
        self._decoders = {
            name: codecs.getincrementaldecoder("utf-8")("replace") for name in ("stdout", "stderr")
        }

    def event(self, stream: str, data: bytes) -> StreamEvent | None:
        text = self._decoders[stream].decode(data)
        return StreamEvent(stream, json.dumps({"text": text})) if text else None

    def flush(self) -> list[StreamEvent]:
        tails = (
            (name, decoder.decode(b"", final=True)) for name, decoder in self._decoders.items()
        )
        return [StreamEvent(name, json.dumps({"text": text})) for name, text in tails if text]


def _end(row: Execution | None) -> StreamEvent:
    data: dict[str, object] = {
        "status": "finished",
        "verdict": None,
        "exit_code": None,
        "reason": None,
    }
    if row is not None:
        data.update(verdict=row.verdict, exit_code=row.exit_code, reason=row.reason)
    return StreamEvent("end", json.dumps(data))


async def _row(database: Database, execution_id: uuid.UUID) -> Execution | None:
    async with database.transaction() as session:
        return await session.get(Execution, execution_id)


async def _replay(database: Database, row: Execution) -> AsyncIterator[StreamEvent]:
    async with database.transaction() as session:
        result = await repository.result(session, row.result_id) if row.result_id else None
    if result is not None:
        decoders = _Decoders()
        for name, data in (("stdout", result.stdout), ("stderr", result.stderr)):
            for offset in range(0, len(data), _REPLAY_CHUNK):
                event = decoders.event(name, data[offset : offset + _REPLAY_CHUNK])
                if event is not None:
                    yield event
        for event in decoders.flush():
            yield event
    yield _end(row)


def _translate(event: LiveEvent, decoders: _Decoders) -> list[StreamEvent]:
    if event.kind in ("stdout", "stderr"):
        translated = decoders.event(event.kind, event.data)
        return [translated] if translated is not None else []
    if event.kind == "status":
        return [StreamEvent("status", json.dumps({"status": event.text}))]
    return decoders.flush()


async def output_events(
    database: Database, hub: LiveHub, execution_id: uuid.UUID
) -> AsyncIterator[StreamEvent]:
    """The events of one execution, ending with ``end`` (the caller checked access)."""
    while True:
        live = hub.get(execution_id)
        if live is not None:
            decoders = _Decoders()
            async for event in live.follow():
                for translated in _translate(event, decoders):
                    yield translated
            yield _end(await _row(database, execution_id))
            return
        row = await _row(database, execution_id)
        if row is None or row.status == repository.FINISHED:
            replayed = _replay(database, row) if row is not None else _only_end()
            async for stored in replayed:
                yield stored
            return
        await asyncio.sleep(_POLL_S)


async def _only_end() -> AsyncIterator[StreamEvent]:
    yield _end(None)
