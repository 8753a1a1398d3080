"""Delivery over the real RabbitMQ survives dropped connections, a broker restart and crashes.

Each test counts what the real audit service recorded: every event once.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections import Counter
from collections.abc import AsyncIterator, Sequence

import pytest
from sqlalchemy import func, select

from devgen.kit.db import Database
from devgen.kit.events.bus import OutgoingEvent
from devgen.kit.events.relay import Relay
from devgen.kit.events.tables import outbox
from devgen.kit.metrics import REGISTRY
from tests.events import broker
from tests.events.harness import (
    delivery_settings,
    emit_notes,
    producer_and_audit,
    producer_only,
    recorded_count,
    recorded_ids,
)
from tests.helpers import eventually
from tests.runtime.processes import devgen, isolated_env

pytestmark = [
    pytest.mark.rabbitmq,
    pytest.mark.slow,
    # aiormq leaves the socket writer of a connection the broker killed to the
    # garbage collector, whose __del__ may then meet a closed loop; that noise
    # is the library's, not a lost event (which the test itself checks).
    pytest.mark.filterwarnings(
        "ignore:Exception ignored in.*StreamWriter.__del__:pytest.PytestUnraisableExceptionWarning"
    ),
]


@pytest.fixture
async def prefix() -> AsyncIterator[str]:
    broker.require_broker()
    name = broker.unique_prefix("chaos")
    yield name
    await broker.delete_topology(name, ["audit"])


def _assert_exactly_once(recorded: Sequence[str], emitted: Sequence[str]) -> None:
    duplicates = [event_id for event_id, n in Counter(recorded).items() if n > 1]
    assert duplicates == []
    assert sorted(recorded) == sorted(emitted)


@pytest.mark.disrupts_broker
async def test_every_event_arrives_once_through_dropped_connections_and_a_broker_restart(
    tmp_path, prefix
):
    settings = delivery_settings(tmp_path, bus_url=broker.AMQP_URL, bus_prefix=prefix)
    failures_before = _publish_failures()
    try:
        async with producer_and_audit(settings) as apps:
            assert await apps.producer.state.bus.wait_ready(15)
            audit_db = apps.audit.state.database
            done = asyncio.Event()
            emitting = asyncio.create_task(_emit_until(apps.producer, done))
            # Each disruption lands while events flow, and the next one only once
            # delivery has resumed after the last.
            await eventually(lambda: _count_is(audit_db, 1), timeout=60)
            await asyncio.to_thread(broker.rabbitmqctl, "close_all_connections", "devgen chaos")
            await _more_recorded(audit_db)
            restart = broker.restart_app_in_background(down_seconds=2)
            await asyncio.to_thread(restart.wait, 120)
            await _more_recorded(audit_db)
            done.set()
            emitted = await emitting
            await eventually(lambda: _count_is(audit_db, len(emitted)), timeout=90)
            await _control_recorded(apps.producer, audit_db, emitted)
            _assert_exactly_once(await recorded_ids(audit_db), emitted)
        assert _publish_failures() > failures_before, "the relay never saw the broker go away"
    finally:
        await asyncio.to_thread(broker.ensure_running)


async def _more_recorded(database: Database) -> None:
    """Wait until audit records more than it has now (delivery goes on)."""
    now = await recorded_count(database)
    await eventually(lambda: _count_is(database, now + 1), timeout=90)


async def _control_recorded(producer, audit_db: Database, emitted: list[str]) -> None:
    """Emit one more event and wait until audit recorded it; add it to ``emitted``.

    The positive control for "no duplicates": the relay publishes in outbox
    order, and what the broker redelivers after a dropped connection or a
    killed consumer went back to the queue when that happened, ahead of the
    control. Audit's one consumer takes the queue in order, so once the
    control is recorded every copy before it has been handled: a duplicate
    would be in the records now.
    """
    [control] = await emit_notes(producer, 1)
    await eventually(
        lambda: recorded_ids(audit_db), until=lambda ids: control in ids, what="the control event"
    )
    emitted.append(control)


def _publish_failures() -> float:
    value = REGISTRY.get_sample_value(
        "devgen_events_publish_failures_total", {"service": "producer"}
    )
    return value or 0.0


async def _emit_until(producer, done: asyncio.Event) -> list[str]:
    """Emit in small bursts until ``done`` (all through the broker's outage)."""
    ids: list[str] = []
    while not done.is_set():
        ids += await emit_notes(producer, 5)
        await asyncio.sleep(0.02)
    return ids


async def _count_is(database: Database, expected: int) -> bool:
    return await recorded_count(database) >= expected


class _PublishThenDie:
    """Publishes for real, but the relay never learns: it dies before marking anything sent."""

    def __init__(self, bus) -> None:
        self._bus = bus
        self.published = 0

    def __getattr__(self, name: str):
        return getattr(self._bus, name)

    async def publish(self, events: Sequence[OutgoingEvent]) -> list[asyncio.Future[bool]]:
        confirmed = await self._bus.publish(events)
        await asyncio.gather(*confirmed)
        self.published += len(events)
        loop = asyncio.get_running_loop()
        return [loop.create_future() for _ in events]  # confirmations that never arrive


async def test_a_relay_killed_between_publish_and_mark_causes_no_duplicate_record(tmp_path, prefix):
    settings = delivery_settings(tmp_path, bus_url=broker.AMQP_URL, bus_prefix=prefix)
    async with producer_and_audit(settings) as apps:
        producer = apps.producer
        assert await producer.state.bus.wait_ready(15)
        await producer.state.relay.stop()
        dying = _PublishThenDie(producer.state.bus)
        doomed = Relay("producer", producer.state.database, dying, settings.events)
        await doomed.start()
        emitted = await emit_notes(producer, 50)
        await eventually(lambda: dying.published == 50)
        audit_db = apps.audit.state.database
        await eventually(lambda: _count_is(audit_db, 50))
        await doomed.stop()  # published, recorded, never marked sent

        again = Relay("producer", producer.state.database, producer.state.bus, settings.events)
        await again.start()
        try:
            await eventually(lambda: _outbox_empty(producer.state.database))
            await _control_recorded(producer, audit_db, emitted)
        finally:
            await again.stop()
        _assert_exactly_once(await recorded_ids(audit_db), emitted)


async def _outbox_empty(database: Database) -> bool:
    async with database.transaction() as session:
        query = select(func.count()).select_from(outbox).where(outbox.c.sent_at.is_(None))
        return int(await session.scalar(query) or 0) == 0


async def test_a_consumer_killed_mid_batch_gets_the_rest_again_without_duplicates(tmp_path, prefix):
    """Audit runs as its own process (``devgen serve audit``) and is SIGKILLed while consuming."""
    settings = delivery_settings(tmp_path / "producer", bus_url=broker.AMQP_URL, bus_prefix=prefix)
    audit_dir = tmp_path / "audit"
    env = isolated_env(
        audit_dir,
        DEVGEN_BUS_URL=broker.AMQP_URL,
        DEVGEN_BUS_PREFIX=prefix,
        DEVGEN_EVENT_BATCH_SIZE="20",
        DEVGEN_EVENT_PREFETCH="100",
    )
    audit_db = Database(f"sqlite+aiosqlite:///{audit_dir}/audit.db")
    count = 2000
    try:
        with devgen("serve", "audit", env=env, workdir=tmp_path / "first") as first:
            async with producer_only(settings) as producer:
                # Emitting goes on while audit consumes, so the kill lands mid-stream
                # however fast audit is.
                emitting = asyncio.create_task(emit_notes(producer, count))
                await eventually(lambda: _count_is(audit_db, 100), timeout=60)
                os.kill(first.process.pid, signal.SIGKILL)
                first.process.wait()
                recorded_at_kill = await recorded_count(audit_db)
                emitted = await emitting
                assert 0 < recorded_at_kill < count, "the kill should land mid-stream"
                with devgen("serve", "audit", env=env, workdir=tmp_path / "second"):
                    await eventually(lambda: _count_is(audit_db, count), timeout=120)
                    await _control_recorded(producer, audit_db, emitted)
                    _assert_exactly_once(await recorded_ids(audit_db), emitted)
    finally:
        await audit_db.dispose()
