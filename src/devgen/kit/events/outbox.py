"""``emit``: write an event into the service's outbox, inside the caller's transaction.

The event exists exactly when the change it describes does: both are in
one transaction, so a rollback leaves no event and a commit leaves exactly
one. The relay publishes it after the commit; committing wakes the relay
so delivery starts at once rather than at its next poll.
"""

from __future__ import annotations

import json
import uuid
import weakref
from collections.abc import Callable, Mapping
from typing import Any, Final

from opentelemetry import propagate
from sqlalchemy import insert
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from devgen.kit.auth.context import current_principal
from devgen.kit.auth.principal import Principal
from devgen.kit.commit_hooks import engine_of, on_commit
from devgen.kit.context import client_address_var, current_request_id, user_agent_var
from devgen.kit.db import utcnow
from devgen.kit.events.envelope import Event, check_type, json_default
from devgen.kit.events.tables import outbox


class _FromContext:
    def __repr__(self) -> str:
        return "FROM_CONTEXT"


FROM_CONTEXT: Final = _FromContext()
"""Default of ``emit``'s ``tenant_id`` and ``actor``: take them from the request's principal."""

_PENDING_KEY = "devgen.events.pending"
_COMMITTED_KEY = "devgen.events.committed"
_wakers: weakref.WeakKeyDictionary[Engine, Callable[[], None]] = weakref.WeakKeyDictionary()
CommitListener = Callable[[list[Event]], None]
"""Called with the events a transaction emitted, right after it committed."""
_commit_listeners: weakref.WeakKeyDictionary[Engine, CommitListener] = weakref.WeakKeyDictionary()


def _normalised(data: Mapping[str, Any] | None) -> dict[str, Any]:
    # What consumers will see (UUIDs and datetimes as strings), and a
    # non-serialisable value fails here, in the emitting request, not in the relay.
    return dict(json.loads(json.dumps(dict(data or {}), default=json_default)))


def _actor_of(value: str | Principal | None) -> str | None:
    return value.actor if isinstance(value, Principal) else value


async def emit(
    session: AsyncSession,
    event_type: str,
    *,
    subject: str | uuid.UUID | None = None,
    data: Mapping[str, Any] | None = None,
    tenant_id: str | uuid.UUID | _FromContext | None = FROM_CONTEXT,
    actor: str | Principal | _FromContext | None = FROM_CONTEXT,
    source: str | None = None,
) -> Event:
    """Record ``event_type`` in the outbox, in ``session``'s transaction; returns the event.

    ``subject`` is the id of the resource the event is about (events carry
    ids, not objects). ``tenant_id`` and ``actor`` default to the request's
    principal (``user:<id>``, ``api_key:<id>``, ``service:<name>``); pass
    them explicitly where there is none (sign-in) or it is someone else.
    The request id, trace context, client address and user agent come from
    the request being served.
    """
    check_type(event_type)
    principal = current_principal()
    if isinstance(tenant_id, _FromContext):
        tenant_id = principal.tenant_id if principal else None
    if isinstance(actor, _FromContext):
        actor = principal if principal else None
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    user_agent = user_agent_var.get()
    event = Event(
        id=str(uuid.uuid4()),
        type=event_type,
        source=source or f"/devgen/{event_type.split('.', 1)[0]}",
        time=utcnow(),
        subject=str(subject) if subject is not None else None,
        data=_normalised(data),
        tenant_id=str(tenant_id) if tenant_id is not None else None,
        actor=_actor_of(actor),
        request_id=current_request_id(),
        traceparent=carrier.get("traceparent"),
        client_address=client_address_var.get(),
        user_agent=user_agent[:512] if user_agent else None,
    )
    await session.execute(
        insert(outbox).values(
            event_id=event.id,
            type=event.type,
            subject=event.subject[:200] if event.subject else None,
            envelope=event.to_json().decode(),
            created_at=event.time,
        )
    )
    _arm_wake(session)
    _arm_commit_listener(session, event)
    return event


def register_waker(engine: AsyncEngine, wake: Callable[[], None]) -> None:
    """Call ``wake`` after every commit on ``engine`` that emitted an event."""
    _wakers[engine.sync_engine] = wake


def unregister_waker(engine: AsyncEngine) -> None:
    """Stop waking anything for ``engine``."""
    _wakers.pop(engine.sync_engine, None)


def _arm_wake(session: AsyncSession) -> None:
    engine = engine_of(session)
    wake = _wakers.get(engine) if engine is not None else None
    if wake is not None:
        on_commit(session, _PENDING_KEY, lambda _items: wake())


def register_commit_listener(engine: AsyncEngine, listener: CommitListener) -> None:
    """Call ``listener(events)`` after every commit on ``engine`` that emitted ``events``.

    For state this process keeps in memory about its own data (identity's
    caller cache): it learns of the change at the commit, before any bus
    delivers the event. ``listener`` runs inside the commit: keep it cheap
    and make it never raise.
    """
    _commit_listeners[engine.sync_engine] = listener


def unregister_commit_listener(engine: AsyncEngine) -> None:
    """Stop telling anyone about ``engine``'s commits."""
    _commit_listeners.pop(engine.sync_engine, None)


def _arm_commit_listener(session: AsyncSession, event: Event) -> None:
    engine = engine_of(session)
    listener = _commit_listeners.get(engine) if engine is not None else None
    if listener is not None:
        on_commit(session, _COMMITTED_KEY, listener, event)
