"""The in-process bus (``memory://``): all-in-one's default.

Events never leave the process, so the outbox stays the durable record: an
event counts as published (and the relay marks it sent) only once every
consuming service it is routed to has handled it or dead-lettered it. A
crash before that leaves it unsent, and the relay publishes it again at the
next start; the consumers' inboxes absorb the repeat.

Each consuming service has a queue and a worker that handles what is queued
in batches. A failed event is retried with back-off; after
``DEVGEN_EVENT_MAX_ATTEMPTS`` it is stored as a dead letter in the service's
database (see ``devgen.kit.events.deadletters``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import structlog

from devgen.kit.events import deadletters
from devgen.kit.events.bus import Batcher, GapHandler, Listener, OutgoingEvent, retry_delay
from devgen.kit.events.consumer import ConsumerGroup
from devgen.kit.events.envelope import Event, InvalidEvent
from devgen.kit.events.metrics import event_metrics
from devgen.kit.events.patterns import matches
from devgen.kit.settings import EventSettings

log = structlog.get_logger("devgen.events")


class _Fanout:
    """Resolves the relay's future once every target group is done with the event."""

    def __init__(self, future: asyncio.Future[bool], targets: int) -> None:
        self.future = future
        self.remaining = targets

    def done_one(self) -> None:
        self.remaining -= 1
        if self.remaining == 0 and not self.future.done():
            self.future.set_result(True)


@dataclass
class _Delivery:
    event: Event
    body: bytes
    fanout: _Fanout | None
    attempts: int = 0
    replay: bool = False


@dataclass
class _Group:
    name: str
    patterns: tuple[str, ...]
    queue: asyncio.Queue[_Delivery] = field(default_factory=asyncio.Queue)
    consumer: ConsumerGroup | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


class _MemoryListening:
    """A listener in this process: it sees every event as the relay publishes it."""

    def __init__(self, bus: MemoryBus, patterns: tuple[str, ...], listener: Listener) -> None:
        self._bus = bus
        self.patterns = patterns
        self.listener = listener

    @property
    def live(self) -> bool:
        """Always: nothing can come between the relay and this process."""
        return True

    def wants(self, event_type: str) -> bool:
        return any(matches(pattern, event_type) for pattern in self.patterns)

    async def close(self) -> None:
        """Stop listening."""
        self._bus.forget_listener(self)


class MemoryBus:
    """Routes events to the consuming services of this process."""

    def __init__(self, settings: EventSettings) -> None:
        self._settings = settings
        self._groups: dict[str, _Group] = {}
        self._listeners: list[_MemoryListening] = []
        self._users = 0
        self._metrics = event_metrics()

    def declare(self, group: str, patterns: Sequence[str]) -> None:
        """Route events matching ``patterns`` to ``group`` (queued until it consumes)."""
        self._groups[group] = _Group(group, tuple(patterns))

    async def start(self) -> None:
        """Count one more user; nothing to connect."""
        self._users += 1

    async def stop(self) -> None:
        """The last user drops every queued event (the outboxes still hold them)."""
        self._users -= 1
        if self._users > 0:
            return
        for group in self._groups.values():
            await self.stop_consuming(group.name)
            while not group.queue.empty():
                delivery = group.queue.get_nowait()
                if delivery.fanout and not delivery.fanout.future.done():
                    delivery.fanout.future.cancel()

    def status(self) -> tuple[bool, str]:
        """Always ready: the bus is this process."""
        return True, "memory"

    async def publish(self, events: Sequence[OutgoingEvent]) -> list[asyncio.Future[bool]]:
        """Queue each event for every group that wants it."""
        loop = asyncio.get_running_loop()
        futures: list[asyncio.Future[bool]] = []
        for outgoing in events:
            future: asyncio.Future[bool] = loop.create_future()
            futures.append(future)
            targets = [
                group
                for group in self._groups.values()
                if any(matches(pattern, outgoing.type) for pattern in group.patterns)
            ]
            listeners = [each for each in self._listeners if each.wants(outgoing.type)]
            if not targets and not listeners:
                future.set_result(False)
                continue
            try:
                event = Event.from_json(outgoing.body)
            except InvalidEvent as exc:
                future.set_exception(exc)
                continue
            for listening in listeners:
                _tell(listening, event)
            if not targets:
                future.set_result(False)
                continue
            fanout = _Fanout(future, len(targets))
            for group in targets:
                group.queue.put_nowait(_Delivery(event, outgoing.body, fanout))
        return futures

    async def listen(
        self, patterns: Sequence[str], listener: Listener, on_gap: GapHandler
    ) -> _MemoryListening:
        """Call ``listener`` with every matching event this process publishes (never a gap)."""
        listening = _MemoryListening(self, tuple(patterns), listener)
        self._listeners.append(listening)
        return listening

    def forget_listener(self, listening: _MemoryListening) -> None:
        """Remove ``listening`` (``close`` calls this)."""
        if listening in self._listeners:
            self._listeners.remove(listening)

    async def consume(self, group: ConsumerGroup) -> None:
        """Start the worker (and the replay poller) of ``group``."""
        target = self._groups.setdefault(group.service, _Group(group.service, group.patterns))
        target.consumer = group
        target.tasks = [
            asyncio.create_task(self._work(target), name=f"events-{group.service}"),
            asyncio.create_task(self._poll_replays(target), name=f"replays-{group.service}"),
        ]

    async def stop_consuming(self, group: str) -> None:
        """Stop the group's tasks; what it had not finished stays in the outboxes."""
        target = self._groups.get(group)
        if target is None:
            return
        for task in target.tasks:
            task.cancel()
        for task in target.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        target.tasks = []
        target.consumer = None

    async def _work(self, group: _Group) -> None:
        assert group.consumer is not None
        consumer = group.consumer
        batcher = Batcher(self._settings.event_batch_size, self._settings.event_batch_wait_seconds)
        while True:
            batch = await batcher.take(group.queue)
            try:
                results: list[BaseException | None] = list(
                    await consumer.handle([delivery.event for delivery in batch])
                )
            except Exception as exc:  # noqa: BLE001 - the database failed: retry them all
                log.warning("event_batch_failed", service=group.name, error=type(exc).__name__)
                results = [exc] * len(batch)
            for delivery, error in zip(batch, results, strict=True):
                if error is None:
                    if delivery.fanout:
                        delivery.fanout.done_one()
                else:
                    await self._failed(group, delivery, error)
            replayed = [
                d.event.id
                for d, error in zip(batch, results, strict=True)
                if d.replay and not error
            ]
            if replayed:
                await self._forget(consumer, replayed)

    async def _forget(self, consumer: ConsumerGroup, event_ids: list[str]) -> None:
        try:
            await deadletters.forget_dead_letters(consumer.database, event_ids)
        except Exception as exc:  # noqa: BLE001 - a replayed event was handled; the row can wait
            log.warning("dead_letter_cleanup_failed", service=consumer.service, error=str(exc))

    async def _failed(self, group: _Group, delivery: _Delivery, error: BaseException) -> None:
        delivery.attempts += 1
        if delivery.attempts < self._settings.event_max_attempts:
            self._requeue(group, delivery)
            return
        assert group.consumer is not None
        try:
            await deadletters.record_dead_letter(
                group.consumer.database,
                event_id=delivery.event.id,
                event_type=delivery.event.type,
                envelope=delivery.body.decode(),
                error=f"{type(error).__name__}: {error}",
                attempts=delivery.attempts,
            )
        except Exception as exc:  # noqa: BLE001 - keep it queued until it can be stored
            log.warning("dead_letter_store_failed", service=group.name, error=type(exc).__name__)
            self._requeue(group, delivery)
            return
        self._metrics.dead_lettered.labels(group.name, delivery.event.type).inc()
        log.error(
            "event_dead_lettered",
            service=group.name,
            event_id=delivery.event.id,
            event_type=delivery.event.type,
            attempts=delivery.attempts,
            error=f"{type(error).__name__}: {error}"[:500],
        )
        if delivery.fanout:
            delivery.fanout.done_one()

    def _requeue(self, group: _Group, delivery: _Delivery) -> None:
        delay = retry_delay(delivery.attempts, self._settings.event_retry_base_seconds)
        asyncio.get_running_loop().call_later(delay, group.queue.put_nowait, delivery)

    async def _poll_replays(self, group: _Group) -> None:
        assert group.consumer is not None
        database = group.consumer.database
        while True:
            try:
                for event_id, envelope in await deadletters.claim_replays(database):
                    body = envelope.encode()
                    try:
                        event = Event.from_json(body)
                    except InvalidEvent:
                        log.error("dead_letter_unreadable", service=group.name, event_id=event_id)
                        continue
                    group.queue.put_nowait(_Delivery(event, body, None, replay=True))
                count = await deadletters.count_dead_letters(database)
                self._metrics.dead_letters.labels(group.name).set(count)
            except Exception as exc:  # noqa: BLE001 - try again at the next poll
                log.warning("dead_letter_poll_failed", service=group.name, error=type(exc).__name__)
            await asyncio.sleep(self._settings.dead_letter_poll_seconds)


def _tell(listening: _MemoryListening, event: Event) -> None:
    try:
        listening.listener(event)
    except Exception:  # a listener's bug must not stop the relay
        log.exception("event_listener_failed", event_type=event.type)
