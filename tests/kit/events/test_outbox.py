"""The outbox: an event exists exactly when the change it describes does."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from devgen.kit.events.tables import inbox, outbox
from tests.helpers import eventually
from tests.kit.events.conftest import count, effects


def _client(app) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://test")


async def test_rollback_leaves_no_event(pair):
    async with _client(pair.producer) as http:
        refused = await http.post("/api/v1/notes", json={"text": "refuse"})
        assert refused.status_code == 409
        accepted = await http.post("/api/v1/notes", json={"text": "kept"})
        assert accepted.status_code == 201
    await eventually(lambda: effects(pair.consumer))
    assert await count(pair.producer, outbox) == 1
    assert [e.event_id for e in await effects(pair.consumer)] == [accepted.json()["event_id"]]


async def test_commit_gives_exactly_one_delivery(pair, behaviour):
    async with _client(pair.producer) as http:
        created = await http.post("/api/v1/notes", json={"text": "hello"})
        # The positive control: a second commit after the first. The relay
        # publishes in outbox order and the consumer handles its queue in
        # order, so once the second's effect is there, whatever was published
        # of the first has been handled too; a second effect of the first
        # would show now, not later.
        control = await http.post("/api/v1/notes", json={"text": "control"})
    event_id, control_id = created.json()["event_id"], control.json()["event_id"]

    # A row marked sent is not yet consumed (on RabbitMQ "confirmed" is not
    # "handled"): wait for the effect itself.
    await eventually(
        lambda: effects(pair.consumer),
        until=lambda done: control_id in {e.event_id for e in done},
        what="the control note's effect",
    )
    assert sorted(e.event_id for e in await effects(pair.consumer)) == sorted(
        [event_id, control_id]
    )
    assert sorted(behaviour.seen) == sorted([event_id, control_id])
    assert await count(pair.consumer, inbox) == 2

    async def sent():
        async with pair.producer.state.database.transaction() as session:
            return await session.scalar(
                select(outbox.c.sent_at).where(outbox.c.event_id == event_id)
            )

    await eventually(sent, what="the outbox row marked sent")
