"""The RabbitMQ bus (``amqp://…``), with aio-pika: the distributed shape's bus.

Topology, named from ``DEVGEN_BUS_PREFIX`` (``devgen`` below):

- ``devgen.events``: a durable topic exchange; the routing key is the event type.
- ``devgen.<service>``: one durable quorum queue per consuming service, bound
  by its patterns, with ``x-delivery-limit`` and a dead-letter route to
- ``devgen.<service>.dead``: the service's dead-letter queue.
- ``devgen.listen.<random>``: one exclusive, auto-deleted queue per listener
  (``EventBus.listen``), gone with its connection; listeners never ack.

Messages are persistent and published with publisher confirms; a consumer
acknowledges only after its handler's transaction committed. A failed event
is handed back after a back-off (``nack`` with requeue) and dead-lettered on
its ``DEVGEN_EVENT_MAX_ATTEMPTS``-th failure; the broker's delivery limit
also catches events whose consumer crashed every time.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog

from devgen.kit.events.bus import Batcher, GapHandler, Listener, OutgoingEvent, retry_delay
from devgen.kit.events.consumer import ConsumerGroup
from devgen.kit.events.envelope import CONTENT_TYPE, Event, InvalidEvent
from devgen.kit.events.metrics import event_metrics
from devgen.kit.settings import EventSettings
from devgen.kit.waiting import wait_event

if TYPE_CHECKING:
    from aio_pika.abc import (
        AbstractChannel,
        AbstractIncomingMessage,
        AbstractRobustChannel,
        AbstractRobustConnection,
        AbstractRobustExchange,
    )

log = structlog.get_logger("devgen.events")

_PUBLISH_TIMEOUT_SECONDS = 15.0
_RECONNECT_SECONDS = 1.0


class BusUnavailable(ConnectionError):
    """RabbitMQ cannot be reached right now."""


@dataclass(frozen=True)
class Topology:
    """Exchange and queue names for one prefix."""

    prefix: str

    @property
    def exchange(self) -> str:
        """The topic exchange every event is published to."""
        return f"{self.prefix}.events"

    def queue(self, group: str) -> str:
        """The queue of a consuming service."""
        return f"{self.prefix}.{group}"

    def dead_queue(self, group: str) -> str:
        """The dead-letter queue of a consuming service."""
        return f"{self.prefix}.{group}.dead"

    def listener_queue(self) -> str:
        """A fresh name for one listener's own queue."""
        return f"{self.prefix}.listen.{uuid.uuid4().hex}"


def queue_arguments(topology: Topology, group: str, max_attempts: int) -> dict[str, Any]:
    """Arguments of a service's queue (they must match on every declaration)."""
    return {
        "x-queue-type": "quorum",
        "x-delivery-limit": max_attempts,
        "x-dead-letter-exchange": "",
        "x-dead-letter-routing-key": topology.dead_queue(group),
    }


async def connect(url: str, name: str) -> AbstractRobustConnection:
    """A robust connection that reconnects by itself after it was established once."""
    import aio_pika

    return await aio_pika.connect_robust(
        url,
        reconnect_interval=_RECONNECT_SECONDS,
        client_properties={"connection_name": name},
    )


async def declare_group(
    channel: AbstractChannel,
    topology: Topology,
    group: str,
    patterns: Sequence[str],
    max_attempts: int,
) -> None:
    """Declare the exchange, a service's queue, its bindings and its dead-letter queue."""
    import aio_pika

    exchange = await channel.declare_exchange(
        topology.exchange, aio_pika.ExchangeType.TOPIC, durable=True
    )
    await channel.declare_queue(
        topology.dead_queue(group), durable=True, arguments={"x-queue-type": "quorum"}
    )
    queue = await channel.declare_queue(
        topology.queue(group),
        durable=True,
        arguments=queue_arguments(topology, group, max_attempts),
    )
    for pattern in patterns:
        await queue.bind(exchange, routing_key=pattern)


def _message(outgoing: OutgoingEvent) -> Any:
    import aio_pika

    return aio_pika.Message(
        outgoing.body,
        content_type=CONTENT_TYPE,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        message_id=outgoing.id,
        type=outgoing.type,
    )


class AmqpBus:
    """Events over RabbitMQ: publishes with confirms, consumes with manual acks."""

    def __init__(self, url: str, settings: EventSettings, *, name: str = "devgen") -> None:
        self._url = url
        self._settings = settings
        self._name = name
        self.topology = Topology(settings.bus_prefix)
        self._declared: dict[str, tuple[str, ...]] = {}
        self._groups: dict[str, ConsumerGroup] = {}
        self._consumers: dict[str, _QueueConsumer] = {}
        self._listeners: list[_AmqpListening] = []
        self._users = 0
        self._connection: AbstractRobustConnection | None = None
        self._channel: AbstractRobustChannel | None = None
        self._exchange: AbstractRobustExchange | None = None
        self._connector: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    def declare(self, group: str, patterns: Sequence[str]) -> None:
        """Declare ``group``'s queue and bindings when connecting."""
        self._declared[group] = tuple(patterns)

    async def start(self) -> None:
        """Connect in the background (retrying until RabbitMQ answers)."""
        self._users += 1
        if self._users == 1:
            self._ready = asyncio.Event()
            self._connector = asyncio.create_task(self._connect(), name="amqp-connect")

    async def stop(self) -> None:
        """Close the connection when the last user stops; unacked messages return to queues."""
        self._users -= 1
        if self._users > 0:
            return
        if self._connector is not None:
            self._connector.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._connector
        for group in list(self._consumers):
            await self.stop_consuming(group)
        for listening in list(self._listeners):
            await listening.close()
        connection, self._connection = self._connection, None
        self._channel = self._exchange = None
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.close()

    async def wait_ready(self, seconds: float) -> bool:
        """Wait until connected and declared; False when ``seconds`` pass first."""
        return await wait_event(self._ready, seconds)

    def status(self) -> tuple[bool, str]:
        """Ready when the publishing channel is open."""
        channel = self._channel
        if channel is None or channel.is_closed or self._connection is None:
            return False, "rabbitmq: not connected"
        if self._connection.is_closed or not self._connection.connected.is_set():
            return False, "rabbitmq: reconnecting"
        return True, "rabbitmq"

    async def _connect(self) -> None:
        attempt = 0
        while True:
            try:
                connection = await connect(self._url, self._name)
                break
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - keep trying: the outbox holds the events
                attempt += 1
                log.warning("bus_connect_failed", error=type(exc).__name__, attempt=attempt)
                await asyncio.sleep(min(_RECONNECT_SECONDS * attempt, 10.0))
        self._connection = connection
        channel = connection.channel(publisher_confirms=True)
        await channel.initialize()
        import aio_pika

        self._exchange = await channel.declare_exchange(
            self.topology.exchange, aio_pika.ExchangeType.TOPIC, durable=True
        )
        for group, patterns in self._declared.items():
            await declare_group(
                channel, self.topology, group, patterns, self._settings.event_max_attempts
            )
        self._channel = channel
        self._ready.set()
        log.info("bus_connected", exchange=self.topology.exchange)
        for consumer_group in list(self._groups.values()):
            await self._start_consumer(consumer_group)
        for listening in list(self._listeners):
            await listening.start(connection)

    async def publish(self, events: Sequence[OutgoingEvent]) -> list[asyncio.Future[bool]]:
        """Publish each event (persistent, confirmed); the futures finish on the confirms.

        The events go out in one write to the socket, in order, and their
        confirms are awaited together (pipelined), not one after another.
        """
        exchange, channel = self._exchange, self._channel
        if exchange is None or channel is None or channel.is_closed:
            raise BusUnavailable("RabbitMQ is not connected")
        try:
            underlay = await channel.get_underlay_channel()
        except Exception as exc:  # closed or reconnecting: the relay backs off
            raise BusUnavailable("RabbitMQ channel is not open") from exc
        if _can_write_together(underlay):
            return await _publish_together(underlay, exchange.name, events)
        # Tasks start in creation order and write to the one channel in that
        # order, so the broker receives the events in outbox order.
        return [asyncio.ensure_future(self._publish_one(exchange, outgoing)) for outgoing in events]

    async def _publish_one(self, exchange: AbstractRobustExchange, outgoing: OutgoingEvent) -> bool:
        await exchange.publish(
            _message(outgoing),
            routing_key=outgoing.type,
            mandatory=False,
            timeout=_PUBLISH_TIMEOUT_SECONDS,
        )
        return True

    async def listen(
        self, patterns: Sequence[str], listener: Listener, on_gap: GapHandler
    ) -> _AmqpListening:
        """Bind a queue of this process's own to ``patterns`` (now, or once connected)."""
        listening = _AmqpListening(self, tuple(patterns), listener, on_gap)
        self._listeners.append(listening)
        if self._ready.is_set() and self._connection is not None:
            await listening.start(self._connection)
        return listening

    def forget_listener(self, listening: _AmqpListening) -> None:
        """Remove ``listening`` (its ``close`` calls this)."""
        if listening in self._listeners:
            self._listeners.remove(listening)

    async def consume(self, group: ConsumerGroup) -> None:
        """Consume ``group``'s queue (now, or as soon as the connection is up)."""
        self._groups[group.service] = group
        if self._ready.is_set():
            await self._start_consumer(group)

    async def _start_consumer(self, group: ConsumerGroup) -> None:
        if group.service in self._consumers or self._connection is None:
            return
        consumer = _QueueConsumer(self._connection, self.topology, group, self._settings)
        self._consumers[group.service] = consumer
        await consumer.start()

    async def stop_consuming(self, group: str) -> None:
        """Cancel the consumer; unacknowledged messages go back to the queue."""
        self._groups.pop(group, None)
        consumer = self._consumers.pop(group, None)
        if consumer is not None:
            await consumer.stop()


_CHANNEL_PARTS = ("lock", "delivery_tag", "confirmations", "write_queue", "create_future")


def _can_write_together(channel: Any) -> bool:
    # The parts of aiormq's channel that basic_publish itself uses (pinned
    # aiormq range); without them, or without confirms, publish one by one.
    return bool(getattr(channel, "publisher_confirms", False)) and all(
        hasattr(channel, part) for part in _CHANNEL_PARTS
    )


def _frames(channel: Any, exchange: str, outgoing: OutgoingEvent) -> list[Any]:
    from pamqp import commands
    from pamqp.body import ContentBody
    from pamqp.header import ContentHeader

    properties = commands.Basic.Properties(
        content_type=CONTENT_TYPE,
        delivery_mode=2,  # persistent
        message_id=outgoing.id,
        message_type=outgoing.type,
    )
    body = outgoing.body
    size = int(getattr(channel, "max_content_size", 0) or len(body) or 1)
    chunks = [ContentBody(body[start : start + size]) for start in range(0, len(body), size)]
    return [
        commands.Basic.Publish(exchange=exchange, routing_key=outgoing.type, mandatory=False),
        ContentHeader(properties=properties, body_size=len(body)),
        *chunks,
    ]


async def _publish_together(
    channel: Any, exchange: str, events: Sequence[OutgoingEvent]
) -> list[asyncio.Future[bool]]:
    """Write ``events`` to ``channel`` as one frame sequence; a confirmation future for each.

    What ``aiormq``'s ``basic_publish`` does per message (take the channel's
    lock, number the delivery, register its confirmation, queue its frames),
    done once for the lot: one socket write and one wake-up of the writer
    instead of one per event, which is most of the CPU a publish costs.
    The broker numbers deliveries in the order frames arrive on the
    channel, the order they are queued here.
    """
    from aiormq.abc import ChannelFrame

    frames = [frame for outgoing in events for frame in _frames(channel, exchange, outgoing)]
    loop = asyncio.get_running_loop()
    results: list[asyncio.Future[bool]] = [loop.create_future() for _ in events]
    drained = channel.create_future()
    async with channel.lock:
        # Nothing here can fail between numbering and queueing: the numbers
        # must match the broker's.
        for result in results:
            channel.delivery_tag += 1
            confirmation = channel.create_future()
            channel.confirmations[channel.delivery_tag] = confirmation
            confirmation.add_done_callback(functools.partial(_confirmed, result))
        frame = ChannelFrame.marshall(
            channel_number=channel.number, frames=frames, drain_future=drained
        )
        channel.write_queue.put_nowait(frame)
    loop.call_later(_PUBLISH_TIMEOUT_SECONDS, _time_out, results)
    try:
        await drained
    except Exception as exc:
        # The connection went while writing: nobody will look at these futures.
        for result in results:
            if result.done():
                result.exception()
            else:
                result.cancel()
        raise BusUnavailable("RabbitMQ connection lost while publishing") from exc
    return results


def _confirmed(result: asyncio.Future[bool], confirmation: asyncio.Future[Any]) -> None:
    if result.done():
        return
    if confirmation.cancelled():
        result.set_exception(BusUnavailable("the channel closed before the confirm"))
    elif (error := confirmation.exception()) is not None:
        result.set_exception(error)  # a nack (DeliveryError) or the channel's closing
    else:
        result.set_result(True)


def _time_out(results: list[asyncio.Future[bool]]) -> None:
    for result in results:
        if not result.done():
            result.set_exception(TimeoutError("no publisher confirm in time"))


class _AmqpListening:
    """One listener's exclusive queue; not live while the connection is down.

    The robust connection declares the queue and its bindings again when it
    comes back; whatever was published in between is lost to the listener,
    which ``on_gap`` tells its owner, once when the connection drops and
    once when it is back.
    """

    def __init__(
        self,
        bus: AmqpBus,
        patterns: tuple[str, ...],
        listener: Listener,
        on_gap: GapHandler,
    ) -> None:
        self._bus = bus
        self._patterns = patterns
        self._listener = listener
        self._on_gap = on_gap
        self._connection: AbstractRobustConnection | None = None
        self._channel: AbstractRobustChannel | None = None
        self._live = False

    @property
    def live(self) -> bool:
        """Whether the queue is bound and consumed on an open connection."""
        connection = self._connection
        return self._live and connection is not None and connection.connected.is_set()

    async def start(self, connection: AbstractRobustConnection) -> None:
        import aio_pika

        if self._connection is not None:
            return
        self._connection = connection
        channel = connection.channel()
        await channel.initialize()
        exchange = await channel.declare_exchange(
            self._bus.topology.exchange, aio_pika.ExchangeType.TOPIC, durable=True
        )
        queue = await channel.declare_queue(
            self._bus.topology.listener_queue(), durable=False, exclusive=True, auto_delete=True
        )
        for pattern in self._patterns:
            await queue.bind(exchange, routing_key=pattern)
        await queue.consume(self._deliver, no_ack=True)
        self._channel = channel
        connection.close_callbacks.add(self._dropped)
        connection.reconnect_callbacks.add(self._back)
        self._live = True

    def _dropped(self, *_args: object) -> None:
        self._live = False
        self._gap()

    def _back(self, *_args: object) -> None:
        self._gap()
        self._live = True

    def _gap(self) -> None:
        try:
            self._on_gap()
        except Exception:  # a listener's bug must not break the connection's callbacks
            log.exception("event_listener_gap_failed")

    async def _deliver(self, message: AbstractIncomingMessage) -> None:
        try:
            event = Event.from_json(message.body)
        except InvalidEvent as exc:
            log.warning("event_unreadable", listener=True, error=str(exc)[:300])
            return
        try:
            self._listener(event)
        except Exception:  # a listener's bug must not stop the consumer
            log.exception("event_listener_failed", event_type=event.type)

    async def close(self) -> None:
        """Stop listening; the broker deletes the queue with its channel."""
        self._bus.forget_listener(self)
        self._live = False
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close_callbacks.discard(self._dropped)
            connection.reconnect_callbacks.discard(self._back)
        channel, self._channel = self._channel, None
        if channel is not None:
            with contextlib.suppress(Exception):
                await channel.close()


class _QueueConsumer:
    """Consumes one service's queue in batches; acks after commit, nacks after back-off."""

    def __init__(
        self,
        connection: AbstractRobustConnection,
        topology: Topology,
        group: ConsumerGroup,
        settings: EventSettings,
    ) -> None:
        self._connection = connection
        self._topology = topology
        self._group = group
        self._settings = settings
        self._buffer: asyncio.Queue[AbstractIncomingMessage] = asyncio.Queue()
        self._channel: AbstractRobustChannel | None = None
        self._worker: asyncio.Task[None] | None = None
        self._settling: set[asyncio.Future[None]] = set()
        self._held: dict[Any, int] = {}  # per channel: messages held for a back-off
        self._metrics = event_metrics()

    async def start(self) -> None:
        channel = self._connection.channel()
        await channel.initialize()
        await channel.set_qos(prefetch_count=self._settings.event_prefetch)
        queue = await channel.declare_queue(
            self._topology.queue(self._group.service),
            durable=True,
            arguments=queue_arguments(
                self._topology, self._group.service, self._settings.event_max_attempts
            ),
        )
        self._channel = channel
        self._worker = asyncio.create_task(self._work(), name=f"amqp-{self._group.service}")
        await queue.consume(self._buffer.put, no_ack=False)

    async def stop(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        if self._channel is not None:
            with contextlib.suppress(Exception):
                await self._channel.close()

    async def _work(self) -> None:
        batcher = Batcher(self._settings.event_batch_size, self._settings.event_batch_wait_seconds)
        while True:
            batch = await batcher.take(self._buffer)
            try:
                await self._handle(batch)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the broker redelivers what was not acked
                log.warning("amqp_batch_failed", service=self._group.service, error=repr(exc))

    async def _handle(self, batch: list[AbstractIncomingMessage]) -> None:
        messages: list[AbstractIncomingMessage] = []
        events: list[Event] = []
        for message in batch:
            try:
                events.append(Event.from_json(message.body))
                messages.append(message)
            except InvalidEvent as exc:
                log.error(
                    "event_unreadable",
                    service=self._group.service,
                    message_id=message.message_id,
                    error=str(exc)[:300],
                )
                self._metrics.dead_lettered.labels(self._group.service, "invalid").inc()
                await _settle(message.reject(requeue=False))
        if not events:
            return
        try:
            results = await self._group.handle(events)
        except Exception as exc:  # noqa: BLE001 - nothing committed: all of them failed
            log.warning("event_batch_failed", service=self._group.service, error=type(exc).__name__)
            results = [exc] * len(events)
        succeeded = []
        for message, event, error in zip(messages, events, results, strict=True):
            if error is None:
                succeeded.append(message)
            else:
                try:
                    self._failed(message, event, error)
                except Exception:  # never leave it unsettled and unheld
                    log.exception("amqp_failure_handling_failed", event_id=event.id)
                    self._later(0, message, message.nack(requeue=True))
        await self._ack(succeeded)

    async def _ack(self, messages: list[AbstractIncomingMessage]) -> None:
        """Acknowledge ``messages`` (committed): one frame for the batch when that is exact.

        A batch holds consecutive deliveries of its channel (the broker
        numbers them in the order it sends them, and they are taken in that
        order), and every delivery before it is settled unless it is held
        for a back-off. So with none held on that channel, one ``multiple``
        ack of the batch's last delivery acknowledges exactly the batch.
        Otherwise each is acknowledged alone. Neither waits for the socket
        to drain: an ack that never reaches the broker only means a
        redelivery, which the inbox absorbs.
        """
        if not messages:
            return
        last = messages[-1]
        channel = last.channel
        together = not self._held.get(channel) and all(m.channel is channel for m in messages)
        if together and last.delivery_tag is not None:
            await _settle(channel.basic_ack(last.delivery_tag, multiple=True, wait=False))
            return
        for message in messages:
            if message.delivery_tag is not None:
                await _settle(
                    message.channel.basic_ack(message.delivery_tag, multiple=False, wait=False)
                )

    def _failed(self, message: AbstractIncomingMessage, event: Event, error: BaseException) -> None:
        headers = message.headers or {}
        previous = headers.get("x-delivery-count", 0)
        attempts = (int(previous) if isinstance(previous, int) else 0) + 1
        if attempts >= self._settings.event_max_attempts:
            self._metrics.dead_lettered.labels(self._group.service, event.type).inc()
            log.error(
                "event_dead_lettered",
                service=self._group.service,
                event_id=event.id,
                event_type=event.type,
                attempts=attempts,
                queue=self._topology.dead_queue(self._group.service),
                error=f"{type(error).__name__}: {error}"[:500],
            )
            self._later(0, message, message.reject(requeue=False))
            return
        delay = retry_delay(attempts, self._settings.event_retry_base_seconds)
        # Holding the message for the back-off keeps it from coming straight back.
        self._later(delay, message, message.nack(requeue=True))

    def _later(self, delay: float, message: AbstractIncomingMessage, action: Any) -> None:
        # Until it is settled, the message keeps later acks from covering it.
        channel = message.channel
        self._held[channel] = self._held.get(channel, 0) + 1

        def settled(task: asyncio.Future[None]) -> None:
            self._settling.discard(task)
            left = self._held.get(channel, 1) - 1
            if left:
                self._held[channel] = left
            else:
                self._held.pop(channel, None)

        def run() -> None:
            task = asyncio.ensure_future(_settle(action))
            self._settling.add(task)
            task.add_done_callback(settled)

        asyncio.get_running_loop().call_later(delay, run)


async def _settle(action: Any) -> None:
    # After a reconnect the channel a message came on is gone; the broker
    # redelivers it, and the inbox makes the repeat harmless.
    try:
        await action
    except Exception as exc:  # noqa: BLE001
        log.info("amqp_settle_failed", error=type(exc).__name__)
