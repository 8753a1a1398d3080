"""Fixtures for the chassis' event tests (the services are in ``services.py``).

Both services share one composition (the same settings), so in-process they
share one bus, as services of the all-in-one platform do.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from devgen.kit.app import create_app
from devgen.kit.db import Database
from devgen.kit.settings import CoreSettings, DatabaseSettings, EventSettings, Settings
from tests.events.broker import AMQP_URL, delete_topology, require_broker, unique_prefix
from tests.kit.events.services import (
    Behaviour,
    ConsumerBase,
    Effect,
    ProducerBase,
    definitions,
)


@pytest.fixture
def behaviour() -> Behaviour:
    return Behaviour()


def event_settings(tmp_path: Path, database_url: str | None = None, **events: object) -> Settings:
    return Settings(
        core=CoreSettings(env="test", data_dir=tmp_path),
        database=DatabaseSettings(
            database_url=database_url or f"sqlite+aiosqlite:///{tmp_path}/{{service}}.db"
        ),
        events=EventSettings(
            **{
                "event_retry_base_seconds": 0.01,
                "dead_letter_poll_seconds": 0.1,
                "relay_poll_seconds": 0.2,
                "relay_max_backoff_seconds": 0.5,
                **events,
            }
        ),
    )


@dataclass
class Pair:
    producer: FastAPI
    consumer: FastAPI


async def start_pair(
    settings: Settings, behaviour: Behaviour, stack: AsyncExitStack, pattern: str = "producer.#"
) -> Pair:
    """Build both apps on ``settings``, create their schema, and start them on ``stack``."""
    producer_def, consumer_def = definitions(behaviour, pattern)
    producer = create_app(producer_def, settings)
    consumer = create_app(consumer_def, settings)
    # The schema must exist before the relay and the consumer start, as the
    # migrations guarantee for real services.
    for app, base in ((producer, ProducerBase), (consumer, ConsumerBase)):
        database = Database(
            settings.database.url_for(app.state.service.name, settings.core.data_dir)
        )
        async with database.engine.begin() as connection:
            await connection.run_sync(base.metadata.create_all)
        await database.dispose()
    await stack.enter_async_context(consumer.router.lifespan_context(consumer))
    await stack.enter_async_context(producer.router.lifespan_context(producer))
    return Pair(producer, consumer)


@pytest.fixture(params=["memory", pytest.param("amqp", marks=pytest.mark.rabbitmq)])
def bus(request: pytest.FixtureRequest) -> str:
    """Which bus the test runs on: the in-process one, or the real RabbitMQ."""
    return str(request.param)


@pytest.fixture
async def bus_settings(bus: str, tmp_path: Path) -> AsyncIterator[dict[str, object]]:
    """Event settings for ``bus``; RabbitMQ gets names of its own, removed afterwards."""
    if bus == "memory":
        yield {}
        return
    require_broker()
    prefix = unique_prefix("kit")
    yield {"bus_url": AMQP_URL, "bus_prefix": prefix}
    await delete_topology(prefix, ["consumer"])


@pytest.fixture
async def pair(tmp_path: Path, behaviour: Behaviour, bus_settings: dict[str, object]):
    async with AsyncExitStack() as stack:
        started = await start_pair(event_settings(tmp_path, **bus_settings), behaviour, stack)
        if bus_settings:
            assert await started.producer.state.bus.wait_ready(10)
        yield started


async def effects(app: FastAPI) -> list[Effect]:
    async with app.state.database.transaction() as session:
        return list(await session.scalars(select(Effect)))


async def count(app: FastAPI, table) -> int:
    async with app.state.database.transaction() as session:
        return int(await session.scalar(select(func.count()).select_from(table)) or 0)


def new_id() -> str:
    return str(uuid.uuid4())
