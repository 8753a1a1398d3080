"""``devgen events dead-letters list|replay`` on both buses, as an operator runs them."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from devgen.cli.main import app
from devgen.kit.db import Database, utcnow
from devgen.kit.events import Event
from devgen.kit.events.deadletters import list_dead_letters, record_dead_letter
from devgen.kit.settings import Settings
from devgen.runtime.migrate import migrate_services
from tests.events import broker


@pytest.fixture
def environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for key in list(os.environ):
        if key.startswith("DEVGEN_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DEVGEN_ENV", "test")
    monkeypatch.setenv("DEVGEN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("COLUMNS", "200")
    return tmp_path / "data"


def _event() -> Event:
    return Event(
        id=str(uuid.uuid4()),
        type="identity.user.registered",
        source="/devgen/identity",
        time=utcnow(),
        subject=str(uuid.uuid4()),
    )


def test_in_process_dead_letters_are_listed_and_marked_for_replay(environment: Path):
    event = _event()

    async def prepare() -> None:
        await migrate_services(Settings(), ["profile", "audit"])
        database = Database(f"sqlite+aiosqlite:///{environment}/profile.db")
        await record_dead_letter(
            database,
            event_id=event.id,
            event_type=event.type,
            envelope=event.to_json().decode(),
            error="RuntimeError: boom",
            attempts=5,
        )
        await database.dispose()

    asyncio.run(prepare())
    runner = CliRunner()
    listed = runner.invoke(
        app, ["events", "dead-letters", "list", "--service", "profile", "--json"]
    )
    assert listed.exit_code == 0, listed.output
    [letter] = [json.loads(line) for line in listed.output.splitlines()]
    assert (letter["service"], letter["event_id"]) == ("profile", event.id)
    assert letter["event"].startswith("identity.user.registered")
    assert "5 attempts" in letter["detail"]
    assert "RuntimeError: boom" in letter["detail"]
    table = runner.invoke(app, ["events", "dead-letters", "list"])
    assert table.exit_code == 0, table.output
    assert "Dead letters" in table.output
    refused = runner.invoke(app, ["events", "dead-letters", "replay", "--service", "profile"])
    assert refused.exit_code == 2
    replayed = runner.invoke(
        app, ["events", "dead-letters", "replay", "--service", "profile", "--event-id", event.id]
    )
    assert "profile: 1 marked for replay" in replayed.output

    async def marked() -> bool:
        database = Database(f"sqlite+aiosqlite:///{environment}/profile.db")
        try:
            [letter] = await list_dead_letters(database)
            return letter.replay_requested
        finally:
            await database.dispose()

    assert asyncio.run(marked())


@pytest.mark.rabbitmq
def test_rabbitmq_dead_letters_are_listed_and_moved_back_to_the_queue(
    environment: Path, monkeypatch: pytest.MonkeyPatch
):
    broker.require_broker()
    prefix = broker.unique_prefix("cli")
    monkeypatch.setenv("DEVGEN_BUS_URL", broker.AMQP_URL)
    monkeypatch.setenv("DEVGEN_BUS_PREFIX", prefix)
    event = _event()
    runner = CliRunner()
    try:
        declared = runner.invoke(app, ["events", "declare"])
        assert declared.exit_code == 0, declared.output
        assert f"{prefix}.audit: #" in declared.output
        asyncio.run(_dead_letter(f"{prefix}.audit.dead", event))
        listed = runner.invoke(
            app, ["events", "dead-letters", "list", "--service", "audit", "--json"]
        )
        [letter] = [json.loads(line) for line in listed.output.splitlines()]
        assert (letter["event_id"], letter["detail"]) == (event.id, ""), listed.output
        assert asyncio.run(broker.queue_depth(f"{prefix}.audit.dead")) == 1  # listing keeps it
        replayed = runner.invoke(app, ["events", "dead-letters", "replay", "--all"])
        assert "audit: 1 moved back to its queue" in replayed.output, replayed.output
        assert asyncio.run(broker.queue_depth(f"{prefix}.audit.dead")) == 0
        assert asyncio.run(broker.queue_depth(f"{prefix}.audit")) == 1
    finally:
        asyncio.run(broker.delete_topology(prefix, ["audit", "profile"]))


async def _dead_letter(queue: str, event: Event) -> None:
    import aio_pika

    connection = await aio_pika.connect(broker.AMQP_URL)
    try:
        channel = await connection.channel()
        await channel.default_exchange.publish(
            aio_pika.Message(event.to_json(), message_id=event.id, type=event.type),
            routing_key=queue,
        )
    finally:
        await connection.close()
