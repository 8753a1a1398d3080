"""The outbox: an event exists exactly when the change it describes does."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from devgen.kit.events.tables import inbox, outbox
from tests.events.waiting import eventually
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
    event_id = created.json()["event_id"]

    async def sent():
        async with pair.producer.state.database.transaction() as session:
            return await session.scalar(
                select(outbox.c.sent_at).where(outbox.c.event_id == event_id)
            )

    await eventually(sent)
    assert [e.event_id for e in await effects(pair.consumer)] == [event_id]
    assert behaviour.seen == [event_id]
    assert await count(pair.consumer, inbox) == 1
