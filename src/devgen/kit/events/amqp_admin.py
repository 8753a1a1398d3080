"""Operating the RabbitMQ bus: declare queues, read and replay dead letters, tail events.

Used by ``devgen events``; each function opens its own short connection.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from devgen.kit.events.amqp import Topology, connect, declare_group
from devgen.kit.events.envelope import Event, InvalidEvent
from devgen.kit.settings import EventSettings

if TYPE_CHECKING:
    from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractQueue

_GET_TIMEOUT_SECONDS = 1.0


@dataclass(frozen=True)
class QueuedDeadLetter:
    """A message in a service's dead-letter queue."""

    service: str
    message_id: str | None
    type: str | None
    reason: str | None
    """``rejected`` (the handler failed on its last attempt) or ``delivery_limit``."""
    body: bytes

    @property
    def event(self) -> Event | None:
        """The event, or None when the body is not one."""
        try:
            return Event.from_json(self.body)
        except InvalidEvent:
            return None


async def declare_topology(settings: EventSettings, groups: Mapping[str, Sequence[str]]) -> None:
    """Declare the exchange and every consuming service's queues (idempotent)."""
    topology = Topology(settings.bus_prefix)
    connection = await connect(settings.bus_url, "devgen-cli")
    try:
        channel = await connection.channel()
        for group, patterns in groups.items():
            await declare_group(channel, topology, group, patterns, settings.event_max_attempts)
    finally:
        await connection.close()


def _dead_letter(service: str, message: AbstractIncomingMessage) -> QueuedDeadLetter:
    headers = message.headers or {}
    deaths = headers.get("x-death")
    reason = headers.get("x-first-death-reason")
    if isinstance(deaths, list) and deaths and isinstance(deaths[0], dict):
        reason = deaths[0].get("reason", reason)
    return QueuedDeadLetter(
        service=service,
        message_id=message.message_id,
        type=message.type,
        reason=str(reason) if reason is not None else None,
        body=message.body,
    )


async def _drain(queue: AbstractQueue, limit: int) -> list[AbstractIncomingMessage]:
    # Messages taken without an ack go back to the queue when the channel closes.
    messages: list[AbstractIncomingMessage] = []
    while len(messages) < limit:
        message = await queue.get(no_ack=False, fail=False, timeout=_GET_TIMEOUT_SECONDS)
        if message is None:
            break
        messages.append(message)
    return messages


async def _dead_queue(
    channel: AbstractChannel, topology: Topology, service: str
) -> AbstractQueue | None:
    try:
        return await channel.declare_queue(topology.dead_queue(service), passive=True)
    except Exception:  # noqa: BLE001 - the service never declared its queues
        return None


async def list_dead_letters(
    settings: EventSettings, services: Sequence[str], limit: int = 1000
) -> list[QueuedDeadLetter]:
    """The dead letters waiting in the services' dead-letter queues (they stay there)."""
    topology = Topology(settings.bus_prefix)
    found: list[QueuedDeadLetter] = []
    connection = await connect(settings.bus_url, "devgen-cli")
    try:
        for service in services:
            channel = await connection.channel()
            queue = await _dead_queue(channel, topology, service)
            if queue is not None:
                found += [_dead_letter(service, m) for m in await _drain(queue, limit)]
            await channel.close()
    finally:
        await connection.close()
    return found


async def replay_dead_letters(
    settings: EventSettings, service: str, event_ids: Collection[str] | None = None
) -> int:
    """Move dead letters (all, or those with ``event_ids``) back to the service's queue.

    Each is republished (persistent, confirmed) with a fresh delivery count and
    only then removed from the dead-letter queue; the service's inbox absorbs
    a copy that was already handled.
    """
    import aio_pika

    topology = Topology(settings.bus_prefix)
    connection = await connect(settings.bus_url, "devgen-cli")
    moved = 0
    try:
        channel = await connection.channel(publisher_confirms=True)
        queue = await _dead_queue(channel, topology, service)
        if queue is None:
            return 0
        for message in await _drain(queue, 100_000):
            if event_ids is not None and message.message_id not in event_ids:
                continue
            await channel.default_exchange.publish(
                aio_pika.Message(
                    message.body,
                    content_type=message.content_type,
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                    message_id=message.message_id,
                    type=message.type,
                ),
                routing_key=topology.queue(service),
            )
            await message.ack()
            moved += 1
    finally:
        await connection.close()
    return moved


async def tail(settings: EventSettings, pattern: str = "#") -> AsyncIterator[bytes]:
    """Every event published from now on whose type matches ``pattern`` (a private queue)."""
    import aio_pika

    topology = Topology(settings.bus_prefix)
    connection = await connect(settings.bus_url, "devgen-tail")
    try:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(
            topology.exchange, aio_pika.ExchangeType.TOPIC, durable=True
        )
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        await queue.bind(exchange, routing_key=pattern)
        async with queue.iterator() as messages:
            async for message in messages:
                async with message.process():
                    yield message.body
    finally:
        with contextlib.suppress(Exception):
            await asyncio.shield(connection.close())
