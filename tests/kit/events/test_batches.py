"""Batches on both buses: a held retry is never acknowledged by its neighbours, big events
survive a publish of many at once, and the relay keeps a bounded number unconfirmed."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from contextlib import AsyncExitStack

from devgen.kit.db import utcnow
from devgen.kit.events import Event
from devgen.kit.events.bus import OutgoingEvent
from devgen.kit.events.relay import Relay
from devgen.kit.events.tables import outbox
from tests.helpers import eventually
from tests.kit.events.conftest import count, effects, event_settings, start_pair
from tests.kit.events.services import Behaviour


def _event(**data: object) -> Event:
    return Event(
        id=str(uuid.uuid4()),
        type="producer.note.created",
        source="/devgen/producer",
        time=utcnow(),
        subject="s-1",
        data=data,
    )


async def _publish(app, events: Sequence[Event]) -> list[bool]:
    futures = await app.state.bus.publish(
        [OutgoingEvent(e.id, e.type, e.to_json()) for e in events]
    )
    return [await future for future in futures]


async def _effect_ids(app) -> list[str]:
    return sorted(effect.event_id for effect in await effects(app))


async def test_events_acknowledged_while_one_waits_for_its_retry_leave_it_to_its_retry(
    tmp_path, bus_settings
):
    # The first event fails and is held for a long back-off; batches after it
    # commit and are acknowledged meanwhile (on RabbitMQ, one ack per batch
    # covering every delivery up to its last). Those acks must not cover the
    # held one: it is handled on its retry, and everything exactly once.
    behaviour = Behaviour()
    held = _event()
    behaviour.failures_left[held.id] = 2  # the batch, then the event alone: held for a retry
    settings = event_settings(tmp_path, event_retry_base_seconds=2.0, **bus_settings)
    async with AsyncExitStack() as stack:
        pair = await start_pair(settings, behaviour, stack)
        if bus_settings:
            assert await pair.producer.state.bus.wait_ready(10)
        assert await _publish(pair.producer, [held]) == [True]
        await eventually(lambda: held.id in behaviour.seen, what="the first, failing attempt")
        later = [_event(n=n) for n in range(30)]
        for start in range(0, len(later), 10):
            assert await _publish(pair.producer, later[start : start + 10]) == [True] * 10
        await eventually(
            lambda: _effect_ids(pair.consumer),
            until=lambda ids: {e.id for e in later} <= set(ids),
            what="the later events' effects",
        )
        expected = sorted([held.id, *(e.id for e in later)])
        await eventually(
            lambda: _effect_ids(pair.consumer),
            until=lambda ids: ids == expected,
            what="the held event's effect, once",
        )


async def test_events_larger_than_a_frame_arrive_whole_and_in_order(pair, behaviour):
    # 200 KB of data is more than one AMQP frame (128 KiB): its body goes out
    # in several frames, between the frames of its neighbours.
    small, big, last = _event(), _event(blob="x" * 200_000), _event()
    assert await _publish(pair.producer, [small, big, last]) == [True, True, True]
    await eventually(
        lambda: _effect_ids(pair.consumer),
        until=lambda ids: ids == sorted([small.id, big.id, last.id]),
        what="all three effects",
    )
    assert behaviour.seen == [small.id, big.id, last.id]


class _HeldConfirms:
    """A bus whose confirms come only when the test releases them."""

    def __init__(self) -> None:
        self.pending: list[asyncio.Future[bool]] = []
        self.published = 0
        self.most_unconfirmed = 0

    async def publish(self, events: Sequence[OutgoingEvent]) -> list[asyncio.Future[bool]]:
        loop = asyncio.get_running_loop()
        futures = [loop.create_future() for _ in events]
        self.pending += futures
        self.published += len(events)
        unconfirmed = sum(not future.done() for future in self.pending)
        self.most_unconfirmed = max(self.most_unconfirmed, unconfirmed)
        return futures

    def release(self) -> None:
        for future in self.pending:
            if not future.done():
                future.set_result(True)


async def test_the_relay_reads_no_further_while_a_batch_awaits_its_confirms(pair):
    # Unbounded, a backlog would pile up in the client faster than confirms
    # come back, time out there and return as retries (the collapse bench
    # runs showed). One batch unconfirmed stops the next read.
    producer = pair.producer
    await producer.state.relay.stop()
    database = producer.state.database
    async with database.transaction() as session:
        for n in range(12):
            event = _event(n=n)
            await session.execute(
                outbox.insert().values(
                    event_id=event.id,
                    type=event.type,
                    envelope=event.to_json().decode(),
                    created_at=event.time,
                )
            )
    bus = _HeldConfirms()
    settings = event_settings(producer.state.settings.core.data_dir, relay_batch_size=5)
    relay = Relay("producer", database, bus, settings.events)  # type: ignore[arg-type]
    # Pass by pass, without the background loop: each step is deterministic.
    assert await relay._relay_once() == 5
    assert await relay._relay_once() == 0
    assert bus.published == 5
    bus.release()
    await asyncio.sleep(0)  # the confirm callbacks run
    await relay._mark()
    assert await relay._relay_once() == 5
    assert bus.most_unconfirmed == 5
    unsent = outbox.select().where(outbox.c.sent_at.is_(None)).subquery()
    assert await count(producer, unsent) == 7
