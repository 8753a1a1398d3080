"""Telling this process that a run changed, as soon as the change is committed.

Every transaction that records a run event marks its session; after the
commit, the run's watchers (SSE streams) are woken and the engine looks
for work. Changes made by another process (a replica) are not seen here:
the streams and the engine also poll, more slowly.
"""

from __future__ import annotations

import asyncio
import uuid
import weakref
from collections.abc import Callable

from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from devgen.kit.commit_hooks import engine_of, on_commit

_TOUCHED_KEY = "devgen.orchestrator.touched"
_watches: weakref.WeakKeyDictionary[Engine, RunWatch] = weakref.WeakKeyDictionary()


class RunWatch:
    """The runs being watched in this process, and who to tell when work appears."""

    def __init__(self) -> None:
        self._events: dict[uuid.UUID, set[asyncio.Event]] = {}
        self._on_change: list[Callable[[], None]] = []

    def on_change(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` after every commit that changed a run."""
        self._on_change.append(callback)

    def subscribe(self, run_id: uuid.UUID) -> asyncio.Event:
        """An event set whenever ``run_id`` changes (call ``unsubscribe`` when done)."""
        flag = asyncio.Event()
        self._events.setdefault(run_id, set()).add(flag)
        return flag

    def unsubscribe(self, run_id: uuid.UUID, flag: asyncio.Event) -> None:
        """Stop being told about ``run_id``."""
        flags = self._events.get(run_id)
        if flags is not None:
            flags.discard(flag)
            if not flags:
                del self._events[run_id]

    def changed(self, run_ids: set[uuid.UUID]) -> None:
        """Wake whoever waits for ``run_ids`` and the engine."""
        for run_id in run_ids:
            for flag in self._events.get(run_id, ()):
                flag.set()
        for callback in self._on_change:
            callback()


def attach(engine: AsyncEngine, watch: RunWatch) -> None:
    """Report the commits made on ``engine`` to ``watch``."""
    _watches[engine.sync_engine] = watch


def detach(engine: AsyncEngine) -> None:
    """Stop reporting commits made on ``engine``."""
    _watches.pop(engine.sync_engine, None)


def touched(session: AsyncSession, run_id: uuid.UUID) -> None:
    """Mark ``run_id`` as changed by ``session``'s transaction (told after its commit)."""
    engine = engine_of(session)
    watch = _watches.get(engine) if engine is not None else None
    if watch is not None:
        on_commit(session, _TOUCHED_KEY, lambda run_ids: watch.changed(set(run_ids)), run_id)
