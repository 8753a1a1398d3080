"""The CloudEvents envelope, topic patterns, and what ``emit`` takes from the request."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from devgen.kit.auth.context import set_current_principal
from devgen.kit.auth.principal import Principal, PrincipalKind
from devgen.kit.context import client_address_var, request_id_var, user_agent_var
from devgen.kit.db import Database
from devgen.kit.events import Event, InvalidEvent, emit
from devgen.kit.events.patterns import check_pattern, matches
from devgen.kit.events.tables import outbox
from tests.events.scratch import scratch_database
from tests.kit.events.services import ProducerBase


@pytest.fixture
async def database(tmp_path) -> AsyncIterator[Database]:
    async with scratch_database("sqlite", tmp_path, ProducerBase.metadata) as database:
        yield database


@pytest.mark.parametrize(
    ("pattern", "event_type", "expected"),
    [
        ("#", "identity.user.registered", True),
        ("identity.#", "identity.user.registered", True),
        ("identity.#", "identityx.user.registered", False),
        ("*.user.*", "identity.user.registered", True),
        ("*.user", "identity.user.registered", False),
        ("identity.user.registered", "identity.user.registered", True),
        ("identity.#.registered", "identity.registered", True),
        ("profile.#", "identity.user.registered", False),
    ],
)
def test_patterns_route_like_rabbitmq_topics(pattern, event_type, expected):
    assert matches(pattern, event_type) is expected


@pytest.mark.parametrize("pattern", ["", "a..b", "A.b", "a.b c", "a.#x"])
def test_malformed_patterns_are_refused(pattern):
    with pytest.raises(ValueError, match="topic pattern"):
        check_pattern(pattern)


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[]",
        b'{"specversion": "0.3", "id": "x", "source": "/s", "type": "a.b.c"}',
        b'{"specversion": "1.0", "id": "x", "source": "/s", "type": "Not A Type"}',
        b'{"specversion": "1.0", "id": "x", "source": "/s", "type": "a.b.c", "data": [1]}',
        b'{"specversion": "1.0", "source": "/s", "type": "a.b.c"}',
    ],
)
def test_messages_that_are_not_devgen_events_are_refused(raw):
    with pytest.raises(InvalidEvent):
        Event.from_json(raw)


async def test_emit_writes_a_cloudevent_with_the_request_context(database):
    tenant_id, user_id = uuid.uuid4(), uuid.uuid4()
    principal = Principal(
        subject=user_id, kind=PrincipalKind.user, tenant_id=tenant_id, user_id=user_id
    )
    request_id_var.set("req-123")
    client_address_var.set("203.0.113.9")
    user_agent_var.set("tests/1.0")
    set_current_principal(principal)
    async with database.transaction() as session:
        emitted = await emit(
            session, "producer.note.created", subject=uuid.UUID(int=7), data={"note_id": user_id}
        )
    async with database.transaction() as session:
        envelope = await session.scalar(
            select(outbox.c.envelope).where(outbox.c.event_id == emitted.id)
        )
    event = Event.from_json(envelope)
    assert event == emitted
    document = event.to_cloudevent()
    assert document["specversion"] == "1.0"
    assert document["source"] == "/devgen/producer"
    assert document["datacontenttype"] == "application/json"
    assert document["subject"] == str(uuid.UUID(int=7))
    assert document["data"] == {"note_id": str(user_id)}
    assert document["tenantid"] == str(tenant_id)
    assert document["actor"] == f"user:{user_id}"
    assert document["requestid"] == "req-123"
    assert document["clientaddress"] == "203.0.113.9"
    assert document["useragent"] == "tests/1.0"
    assert document["time"].endswith("Z")


async def test_a_principal_of_an_earlier_request_is_not_taken_for_this_one(database):
    request_id_var.set("first")
    set_current_principal(
        Principal(subject=uuid.uuid4(), kind=PrincipalKind.user, tenant_id=None, user_id=None)
    )
    request_id_var.set("second")
    async with database.transaction() as session:
        event = await emit(session, "producer.note.created", subject="x")
    assert (event.actor, event.tenant_id) == (None, None)


async def test_explicit_actor_and_tenant_win_over_the_context(database):
    async with database.transaction() as session:
        event = await emit(
            session, "producer.note.created", tenant_id=None, actor="service:producer"
        )
    assert (event.actor, event.tenant_id) == ("service:producer", None)


async def test_event_types_must_read_service_entity_verb(database):
    async with database.transaction() as session:
        with pytest.raises(ValueError, match=r"<service>\.<entity>\.<verb>"):
            await emit(session, "registered")
