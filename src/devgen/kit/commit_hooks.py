"""``on_commit``: run something once a session's transaction has committed, never on rollback.

Waking the outbox relay, telling run watchers that a run changed: work that
must follow the commit (an event seen before its row is committed would be
read as missing) and must not happen at all when the transaction rolls back.
Items registered under one key during a transaction are delivered together,
once, after its commit.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

import structlog
from sqlalchemy import event as sa_event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session as SyncSession

log = structlog.get_logger(__name__)

_PENDING = "devgen.on_commit"
Deliver = Callable[[list[Any]], None]
_listening = False


def on_commit(session: AsyncSession, key: Hashable, deliver: Deliver, item: Any = None) -> None:
    """After this transaction commits, call ``deliver(items)`` once for ``key``.

    ``items`` are the non-None ``item`` values registered under ``key`` in the
    transaction, in order. The first ``deliver`` given for a key is kept.
    ``deliver`` runs synchronously inside the commit: keep it to setting
    events and scheduling work.
    """
    _install()
    pending: dict[Hashable, tuple[Deliver, list[Any]]] = session.sync_session.info.setdefault(
        _PENDING, {}
    )
    _, items = pending.setdefault(key, (deliver, []))
    if item is not None:
        items.append(item)


def engine_of(session: AsyncSession) -> Engine | None:
    """The sync engine ``session`` is bound to (to find per-engine listeners)."""
    bind = session.sync_session.get_bind()
    return bind if isinstance(bind, Engine) else getattr(bind, "engine", None)


def _after_commit(sync_session: SyncSession) -> None:
    pending = sync_session.info.pop(_PENDING, None)
    for key, (deliver, items) in (pending or {}).items():
        try:
            deliver(items)
        except Exception:
            log.exception("on_commit_failed", key=str(key))


def _after_rollback(sync_session: SyncSession) -> None:
    sync_session.info.pop(_PENDING, None)


def _install() -> None:
    # On first use rather than at import: importing has no side effects.
    global _listening
    if not _listening:
        sa_event.listen(SyncSession, "after_commit", _after_commit)
        sa_event.listen(SyncSession, "after_rollback", _after_rollback)
        _listening = True
