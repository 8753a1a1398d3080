"""Wiring events into an app: which bus, and the relay and consumers of its lifespan.

``create_app`` calls ``prepare_events`` when it builds an app and runs
``running_events`` inside the app's lifespan. Apps of one composition (every
service of an all-in-one process, built from the same settings) share one
bus object: one in-process bus, or one RabbitMQ connection. The consuming
services are declared on it when the apps are built, before any of them
starts, so no event is published before its consumers' queues exist.
"""

from __future__ import annotations

import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog
from fastapi import FastAPI, Request

from devgen.kit.db import Database
from devgen.kit.events.bus import EventBus
from devgen.kit.events.consumer import ConsumerGroup
from devgen.kit.events.memory import MemoryBus
from devgen.kit.events.relay import Relay
from devgen.kit.events.tables import has_outbox
from devgen.kit.health import DependencyStatus
from devgen.kit.settings import Settings

if TYPE_CHECKING:
    from devgen.kit.service import ServiceDefinition

log = structlog.get_logger("devgen.events")

_shared: weakref.WeakValueDictionary[tuple[str, ...], Any] = weakref.WeakValueDictionary()


def _composition_key(settings: Settings) -> tuple[str, ...]:
    # Apps built from the same bus and the same databases belong together.
    return (
        settings.events.bus_url,
        settings.events.bus_prefix,
        settings.database.database_url,
        str(settings.core.data_dir.resolve()),
    )


def shared_bus(settings: Settings) -> EventBus:
    """The bus of the composition ``settings`` describe, created on first use."""
    key = _composition_key(settings)
    bus: EventBus | None = _shared.get(key)
    if bus is None:
        if settings.events.is_memory:
            bus = MemoryBus(settings.events)
        else:
            from devgen.kit.events.amqp import AmqpBus

            bus = AmqpBus(settings.events.bus_url, settings.events)
        _shared[key] = bus
    return bus


@dataclass
class EventWiring:
    """What a service does with events, decided when its app is built."""

    service: ServiceDefinition
    bus: EventBus
    emits: bool
    settings: Settings


def prepare_events(definition: ServiceDefinition, settings: Settings) -> EventWiring | None:
    """The wiring of ``definition``'s events, or None when it neither emits nor consumes."""
    emits = has_outbox(definition.metadata)
    if not emits and not definition.consumers:
        return None
    bus = shared_bus(settings)
    if definition.consumers:
        patterns = tuple(dict.fromkeys(consumer.pattern for consumer in definition.consumers))
        bus.declare(definition.name, patterns)
    return EventWiring(definition, bus, emits, settings)


@asynccontextmanager
async def running_events(
    app: FastAPI, wiring: EventWiring, database: Database
) -> AsyncIterator[None]:
    """Connect the bus, start the consumers, then the relay; stop them in reverse."""
    definition, bus = wiring.service, wiring.bus
    await bus.start()
    app.state.bus = bus
    app.state.health_checks["bus"] = _check_bus
    group = ConsumerGroup(definition.name, database, definition.consumers)
    relay = Relay(definition.name, database, bus, wiring.settings.events)
    try:
        if definition.consumers:
            await bus.consume(group)
        if wiring.emits:
            await relay.start()
            app.state.relay = relay
        yield
    finally:
        if wiring.emits:
            await relay.stop()
        if definition.consumers:
            await bus.stop_consuming(definition.name)
        await bus.stop()


async def _check_bus(request: Request) -> DependencyStatus:
    bus: EventBus = request.app.state.bus
    ready, detail = bus.status()
    return DependencyStatus(status="ok" if ready else "unavailable", detail=detail)
