"""Consumers on both buses: idempotent handling, retries, dead letters and their replay."""

from __future__ import annotations

import uuid
from contextlib import AsyncExitStack

import httpx
from sqlalchemy import select

from devgen.kit.db import utcnow
from devgen.kit.events import Event
from devgen.kit.events.amqp_admin import list_dead_letters as queued_dead_letters
from devgen.kit.events.amqp_admin import replay_dead_letters
from devgen.kit.events.bus import OutgoingEvent
from devgen.kit.events.deadletters import list_dead_letters, request_replay
from devgen.kit.events.tables import dead_letters, outbox
from devgen.kit.metrics import REGISTRY
from tests.helpers import eventually
from tests.kit.events.conftest import count, effects, event_settings, start_pair


def _event(event_type: str = "producer.note.created", **fields) -> Event:
    return Event(
        id=str(uuid.uuid4()),
        type=event_type,
        source="/devgen/producer",
        time=utcnow(),
        subject=fields.pop("subject", "s-1"),
        data=fields,
    )


async def _publish(app, *events: Event) -> list[bool]:
    outgoing = [OutgoingEvent(e.id, e.type, e.to_json()) for e in events]
    futures = await app.state.bus.publish(outgoing)
    return [await future for future in futures]


async def _effect_ids(app) -> list[str]:
    return sorted(effect.event_id for effect in await effects(app))


async def test_a_redelivered_event_has_no_second_effect(pair, behaviour):
    event, control = _event(), _event()
    assert await _publish(pair.producer, event, event) == [True, True]
    assert await _publish(pair.producer, event) == [True]
    # The positive control, published after the repeats: each bus hands a
    # consumer its events in the order they were published, so once the
    # control's effect is there every repeat has been delivered too.
    assert await _publish(pair.producer, control) == [True]
    await eventually(
        lambda: _effect_ids(pair.consumer),
        until=lambda ids: control.id in ids,
        what="the control event's effect",
    )
    assert await _effect_ids(pair.consumer) == sorted([event.id, control.id])
    # The repeats were recognised before the handler ran.
    assert behaviour.seen == [event.id, control.id]


async def test_a_failing_event_is_retried_and_others_in_its_batch_commit(pair, behaviour):
    flaky, fine = _event(), _event()
    behaviour.failures_left[flaky.id] = 2
    await _publish(pair.producer, flaky, fine)
    expected = sorted([flaky.id, fine.id])
    await eventually(lambda: _effect_ids_are(pair.consumer, expected))
    # A failed batch is handled again event by event: a handler may run more
    # than once per delivery, but only one run of each commits.
    assert behaviour.seen.count(flaky.id) >= 3


async def _effect_ids_are(app, expected: list[str]) -> bool:
    return await _effect_ids(app) == expected


def _dead_lettered(service: str, event_type: str) -> float:
    value = REGISTRY.get_sample_value(
        "devgen_events_dead_lettered_total", {"service": service, "type": event_type}
    )
    return value or 0.0


async def test_poison_event_is_dead_lettered_after_max_attempts_then_replayed(
    pair, behaviour, bus, caplog
):
    poison = _event(subject="poison")
    behaviour.always_fail.add("poison")
    before = _dead_lettered("consumer", poison.type)
    await _publish(pair.producer, poison)
    await eventually(lambda: _dead_lettered("consumer", poison.type) == before + 1)
    assert behaviour.seen.count(poison.id) == 10  # five deliveries, each alone and in its batch
    assert await effects(pair.consumer) == []
    assert "event_dead_lettered" in caplog.text
    settings = pair.consumer.state.settings.events
    if bus == "memory":
        [letter] = await list_dead_letters(pair.consumer.state.database)
        assert (letter.event_id, letter.attempts) == (poison.id, 5)
        assert "RuntimeError: poison" in letter.error
    else:
        [letter] = await eventually(lambda: queued_dead_letters(settings, ["consumer"]))
        assert (letter.message_id, letter.reason) == (poison.id, "rejected")
        assert letter.event == poison

    behaviour.always_fail.clear()  # the fix
    if bus == "memory":
        assert await request_replay(pair.consumer.state.database) == 1
    else:
        assert await replay_dead_letters(settings, "consumer") == 1
    await eventually(lambda: _effect_ids_are(pair.consumer, [poison.id]))
    if bus == "memory":
        await eventually(lambda: _no_dead_letters(pair.consumer))
    else:
        assert await queued_dead_letters(settings, ["consumer"]) == []


async def _no_dead_letters(app) -> bool:
    return await count(app, dead_letters) == 0


async def test_events_written_while_nobody_relays_are_delivered_after_a_restart(
    tmp_path, behaviour, bus_settings
):
    settings = event_settings(tmp_path, **bus_settings)
    async with AsyncExitStack() as stack:
        pair = await start_pair(settings, behaviour, stack)
        await pair.producer.state.relay.stop()  # the process dies before relaying
        transport = httpx.ASGITransport(app=pair.producer)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            ids = [
                (await http.post("/api/v1/notes", json={"text": f"n{i}"})).json()["event_id"]
                for i in range(5)
            ]
        assert behaviour.seen == []
    async with AsyncExitStack() as stack:
        pair = await start_pair(settings, behaviour, stack)
        await eventually(lambda: _effect_ids_are(pair.consumer, sorted(ids)))
        await eventually(lambda: _all_sent(pair.producer))


async def _all_sent(app) -> bool:
    async with app.state.database.transaction() as session:
        unsent = await session.scalars(select(outbox.c.position).where(outbox.c.sent_at.is_(None)))
        return not list(unsent)
