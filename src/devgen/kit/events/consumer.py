"""Consumers: a service's handlers for event-type patterns, and running them idempotently.

A handler gets a session and the event. It runs in a transaction that also
records the event id in the service's inbox, so a redelivered event finds
its id there and has no second effect. Several events are handled in one
transaction; when one of them fails, the batch is handled again with a
savepoint per event, so the failing event does not undo the others (a
handler may therefore run twice for one delivery: it must be safe to). The
bus is acknowledged only after the commit.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import structlog
from opentelemetry import trace
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from devgen.kit.context import request_id_var
from devgen.kit.db import Database, utcnow
from devgen.kit.events.envelope import Event
from devgen.kit.events.metrics import event_metrics
from devgen.kit.events.patterns import check_pattern, matches
from devgen.kit.events.tables import inbox
from devgen.kit.telemetry import continued, tracer

log = structlog.get_logger("devgen.events")

_BATCH_KEY = "devgen.events.batch"
_Errors = dict[str, BaseException | None]

Handler = Callable[[AsyncSession, Event], Awaitable[None]]
"""``async def handler(session, event) -> None``: re-read what you need, change it, ``flush()``."""


@dataclass(frozen=True)
class Consumer:
    """Run ``handler`` for every event whose type matches ``pattern`` (topic syntax)."""

    pattern: str
    handler: Handler

    def __post_init__(self) -> None:
        check_pattern(self.pattern)

    @property
    def name(self) -> str:
        """The handler's qualified name, for logs."""
        return f"{self.handler.__module__}.{self.handler.__qualname__}"


class ConsumerGroup:
    """The consumers of one service and the database their inbox lives in."""

    def __init__(self, service: str, database: Database, consumers: Sequence[Consumer]) -> None:
        self.service = service
        self.database = database
        self.consumers = tuple(consumers)
        self._metrics = event_metrics()

    @property
    def patterns(self) -> tuple[str, ...]:
        """The distinct patterns the service listens to."""
        return tuple(dict.fromkeys(consumer.pattern for consumer in self.consumers))

    def wants(self, event_type: str) -> bool:
        """Whether any consumer matches ``event_type``."""
        return any(matches(consumer.pattern, event_type) for consumer in self.consumers)

    async def handle(self, events: Sequence[Event]) -> list[BaseException | None]:
        """Handle ``events`` in one transaction; per event, None or the error it raised.

        Events already in the inbox count as handled. The batch first runs
        without savepoints (the common case, a few statements for the lot);
        if anything fails it runs again with a savepoint per event, so only
        the failing events fail. If that commit fails too, the error
        propagates and none of the events is handled.
        """
        started = time.perf_counter()
        unique = list({event.id: event for event in events}.values())
        try:
            errors, duplicates = await self._handle_together(unique)
        except Exception:  # noqa: BLE001 - find the culprits one savepoint at a time
            errors, duplicates = await self._handle_apart(unique)
        self._metrics.handle_seconds.labels(self.service).observe(time.perf_counter() - started)
        for event_id, error in errors.items():
            outcome = "duplicate" if event_id in duplicates else "handled"
            self._metrics.handled.labels(self.service, "failed" if error else outcome).inc()
        return [errors[event.id] for event in events]

    async def _fresh(self, session: AsyncSession, events: list[Event]) -> list[Event]:
        ids = [event.id for event in events]
        seen = set(await session.scalars(select(inbox.c.event_id).where(inbox.c.event_id.in_(ids))))
        fresh = [event for event in events if event.id not in seen]
        session.info[_BATCH_KEY] = fresh
        return fresh

    async def _handle_together(self, events: list[Event]) -> tuple[_Errors, set[str]]:
        async with self.database.transaction() as session:
            fresh = await self._fresh(session, events)
            if fresh:
                now = utcnow()
                await session.execute(
                    insert(inbox),
                    [{"event_id": e.id, "type": e.type, "handled_at": now} for e in fresh],
                )
            events_tracer = tracer()
            for event in fresh:
                with _event_context(event, events_tracer):
                    for consumer in self.consumers:
                        if matches(consumer.pattern, event.type):
                            await consumer.handler(session, event)
            await session.flush()
        fresh_ids = {event.id for event in fresh}
        return {event.id: None for event in events}, {e.id for e in events} - fresh_ids

    async def _handle_apart(self, events: list[Event]) -> tuple[_Errors, set[str]]:
        errors: _Errors = {event.id: None for event in events}
        async with self.database.transaction() as session:
            fresh = await self._fresh(session, events)
            events_tracer = tracer()
            for event in fresh:
                errors[event.id] = await self._handle_one(session, event, events_tracer)
        fresh_ids = {event.id for event in fresh}
        return errors, {e.id for e in events} - fresh_ids

    async def _handle_one(
        self, session: AsyncSession, event: Event, events_tracer: trace.Tracer
    ) -> BaseException | None:
        with _event_context(event, events_tracer):
            try:
                async with session.begin_nested():
                    await session.execute(
                        insert(inbox).values(
                            event_id=event.id, type=event.type, handled_at=utcnow()
                        )
                    )
                    for consumer in self.consumers:
                        if matches(consumer.pattern, event.type):
                            await consumer.handler(session, event)
                    await session.flush()
            except Exception as exc:  # noqa: BLE001 - any handler error fails only this event
                log.warning(
                    "event_handler_failed",
                    service=self.service,
                    error=f"{type(exc).__name__}: {exc}"[:500],
                )
                return exc
        return None


def batch_of(session: AsyncSession) -> Sequence[Event]:
    """The events being handled in ``session``'s transaction (for handlers that prefetch)."""
    batch: Sequence[Event] = session.info.get(_BATCH_KEY, ())
    return batch


@contextmanager
def _event_context(event: Event, events_tracer: trace.Tracer) -> Iterator[None]:
    # Log lines, calls and events of the handler carry the request (and trace) that caused it.
    # The tracer is looked up once per batch and the log context bound and reset
    # directly: per event, this context cost as much CPU as audit's handler.
    token = request_id_var.set(event.request_id)
    bound = structlog.contextvars.bind_contextvars(
        request_id=event.request_id, event_id=event.id, event_type=event.type
    )
    try:
        with (
            continued({"traceparent": event.traceparent}),
            events_tracer.start_as_current_span(
                f"{event.type} process",
                kind=trace.SpanKind.CONSUMER,
                attributes={"messaging.message.id": event.id, "devgen.event_type": event.type},
            ),
        ):
            yield
    finally:
        structlog.contextvars.reset_contextvars(**bound)
        request_id_var.reset(token)
