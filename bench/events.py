"""Benchmark: events from outbox commit to audit record, against a raw aio-pika loop.

Three subjects, measured the same way in one run:

- **in-process**: the all-in-one shape — a producing service and the real
  audit service in one process on SQLite, the in-process bus;
- **rabbitmq**: the distributed shape's data path — the same two services on
  PostgreSQL, the RabbitMQ bus (quorum queue, persistent messages, publisher
  confirms, manual acks after the audit transaction commits);
- **raw aio-pika**: the baseline — persistent messages published with
  confirms (in windows of the relay's batch size) to a quorum queue declared
  like audit's, consumed with the same prefetch and acked one by one. No
  database, no envelope, no hash chain.

Two phases each:

- **throughput**: ``--events`` events are committed to the outbox first (one
  per transaction); the clock starts when the relay starts and stops at the
  last audit record. This is what the event machinery moves per second
  (relay, bus, consumer, inbox, audit's hash chain) — the producing
  transactions are the services' own work and are not counted. The
  baseline publishes the same number and consumes them concurrently.
- **latency**: ``--producers`` producers commit events at a steady
  ``--rate`` (events/s) for ``--seconds``; per event, its audit record's
  ``recorded_at`` minus the moment its transaction committed. The baseline
  publishes at the same rate; latency is publish to consume.

Run: ``.venv/bin/python bench/events.py [--events 3000 --rate 200]``; needs
RabbitMQ on 127.0.0.1:5672 and PostgreSQL on 127.0.0.1:5432 (``--amqp-url``,
``--postgres``). The last line is ``events ratio: <number>``: RabbitMQ
events/s divided by raw aio-pika events/s (goal >= 0.5; p99 goal <= 200 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from devgen.kit.app import create_app
from devgen.kit.db import Database, ModelBase
from devgen.kit.events import add_event_tables, emit
from devgen.kit.events.relay import Relay
from devgen.kit.migrations import ensure_database
from devgen.kit.service import ServiceDefinition
from devgen.kit.settings import CoreSettings, DatabaseSettings, EventSettings, Settings
from devgen.runtime.registry import load_definition
from devgen.services.audit.models import AuditRecord

EVENT_TYPE = "bench.item.created"


class _BenchBase(ModelBase):
    __abstract__ = True


add_event_tables(_BenchBase.metadata, consumes=False)

PRODUCER = ServiceDefinition(
    name="bench",
    title="bench producer",
    description="Emits events for the benchmark.",
    routers=[],
    metadata=_BenchBase.metadata,
)


@dataclass
class Result:
    """One subject's throughput and latency."""

    name: str
    events: int
    seconds: float
    latencies_ms: list[float]

    @property
    def rate(self) -> float:
        """Events per second in the throughput phase."""
        return self.events / self.seconds

    def percentile(self, fraction: float) -> float:
        """A latency percentile (latency phase) in milliseconds."""
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]

    def line(self) -> str:
        """The result as one printed line."""
        return (
            f"{self.name:<13} {self.rate:8.0f} events/s "
            f"({self.events} in {self.seconds:.2f} s)   latency at steady load: "
            f"p50 {self.percentile(0.50):6.1f} ms  p99 {self.percentile(0.99):6.1f} ms "
            f"({len(self.latencies_ms)} events)"
        )


def _settings(data_dir: Path, database_url: str, **events: object) -> Settings:
    return Settings(
        core=CoreSettings(env="test", data_dir=data_dir, log_level="WARNING"),
        database=DatabaseSettings(database_url=database_url, database_pool_size=20),
        events=EventSettings(**events),
    )


@asynccontextmanager
async def _platform(
    settings: Settings, audit_apart: bool, profile: Path | None = None
) -> AsyncIterator[FastAPI]:
    """The producer started, with audit beside it or (``audit_apart``) in its own process."""
    url = settings.database.url_for("bench", settings.core.data_dir)
    await ensure_database(url)
    scratch = Database(url, pool_size=1)
    async with scratch.engine.begin() as connection:
        await connection.run_sync(_BenchBase.metadata.create_all)
    await scratch.dispose()
    producer = create_app(PRODUCER, settings)
    async with AsyncExitStack() as stack:
        if audit_apart:
            stack.enter_context(_audit_process(settings, profile))
        else:
            audit = create_app(load_definition("audit"), settings, migrate_on_startup=True)
            await stack.enter_async_context(audit.router.lifespan_context(audit))
        await stack.enter_async_context(producer.router.lifespan_context(producer))
        bus = producer.state.bus
        if hasattr(bus, "wait_ready") and not await bus.wait_ready(30):
            raise RuntimeError("RabbitMQ did not answer")
        yield producer


@contextmanager
def _audit_process(settings: Settings, profile: Path | None) -> Iterator[None]:
    """``devgen serve audit`` on the same database server and bus, until the block ends.

    With ``profile``, py-spy samples it and this process from the moment it
    is ready (raw stacks in ``audit.txt`` and ``bench.txt`` there).
    """
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEVGEN_")}
    env |= {
        "DEVGEN_ENV": "test",
        "DEVGEN_DATA_DIR": str(settings.core.data_dir),
        "DEVGEN_DATABASE_URL": settings.database.database_url,
        "DEVGEN_BUS_URL": settings.events.bus_url,
        "DEVGEN_BUS_PREFIX": settings.events.bus_prefix,
        "DEVGEN_LOG_LEVEL": "WARNING",
        # A service alone refuses to start without one (a throwaway will do here).
        "DEVGEN_SERVICE_SECRET": secrets.token_hex(32),
    }
    command = [sys.executable, "-m", "devgen.cli", "serve", "audit", "--port", str(port)]
    # Its warnings (log level WARNING) reach the bench's stderr: a stall shows why.
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("devgen serve audit did not become ready")
            time.sleep(0.2)
        if profile is not None:
            _py_spy(process.pid, profile / "audit.txt")
            _py_spy(os.getpid(), profile / "bench.txt")
        yield
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _py_spy(pid: int, output: Path) -> None:
    # py-spy stops by itself, writing ``output``, when the process it samples ends.
    output.parent.mkdir(parents=True, exist_ok=True)
    beside = Path(sys.executable).parent / "py-spy"  # installed into the venv, or on PATH
    binary = str(beside) if beside.exists() else "py-spy"
    command = [binary, "record", "--pid", str(pid), "--format", "raw", "-r", "200"]
    subprocess.Popen([*command, "-o", str(output)], stdout=subprocess.DEVNULL)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _produce(database: Database, count: int, producers: int) -> dict[str, float]:
    """Commit ``count`` events from ``producers`` concurrent tasks; commit times by event id."""
    committed: dict[str, float] = {}

    async def producer(share: int) -> None:
        for number in range(share):
            async with database.transaction() as session:
                event = await emit(
                    session, EVENT_TYPE, subject=uuid.uuid4(), data={"n": number}, tenant_id=None
                )
            committed[event.id] = time.time()

    shares = [count // producers + (i < count % producers) for i in range(producers)]
    await asyncio.gather(*(producer(share) for share in shares))
    return committed


async def _paced(
    database: Database, rate: float, seconds: float, producers: int
) -> dict[str, float]:
    """Commit events at ``rate`` per second for ``seconds``; commit times by event id."""
    committed: dict[str, float] = {}
    interval = producers / rate

    async def producer(offset: float) -> None:
        await asyncio.sleep(offset)
        next_at = time.monotonic()
        end = next_at + seconds
        while next_at < end:
            async with database.transaction() as session:
                event = await emit(session, EVENT_TYPE, subject=uuid.uuid4(), tenant_id=None)
            committed[event.id] = time.time()
            next_at += interval
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))

    await asyncio.gather(*(producer(i * interval / producers) for i in range(producers)))
    return committed


async def _recorded(audit: AsyncEngine, event_ids: list[str]) -> dict[str, float]:
    """``recorded_at`` (epoch seconds) of the events among ``event_ids`` audit has recorded."""
    found: dict[str, float] = {}
    async with audit.connect() as connection:
        for start in range(0, len(event_ids), 1000):
            rows = await connection.execute(
                select(AuditRecord.event_id, AuditRecord.recorded_at).where(
                    AuditRecord.event_id.in_(event_ids[start : start + 1000])
                )
            )
            found |= {event_id: _epoch(at) for event_id, at in rows.all()}
    return found


def _epoch(value: datetime | str) -> float:
    # A plain engine (no chassis types) returns SQLite's text as it is stored.
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


async def _all_recorded(audit: AsyncEngine, event_ids: list[str], name: str) -> dict[str, float]:
    # A plain engine, not the chassis' (whose SQLite transactions take the write
    # lock from the start): polling must not compete with audit's writes.
    deadline = time.monotonic() + 300
    query = select(func.count()).select_from(AuditRecord).where(AuditRecord.action == EVENT_TYPE)
    while True:
        async with audit.connect() as connection:
            enough = int(await connection.scalar(query) or 0) >= len(event_ids)
        if enough:
            found = await _recorded(audit, event_ids)
            if len(found) == len(event_ids):
                return found
        if time.monotonic() > deadline:
            raise RuntimeError(f"{name}: not every event reached audit")
        await asyncio.sleep(0.05)


class PlatformSubject:
    """A producer (and audit) to drain backlogs through and to load steadily."""

    def __init__(self, name: str, settings: Settings, args: argparse.Namespace) -> None:
        self.name = name
        self._settings = settings
        self._args = args
        self._producer: FastAPI | None = None
        self._audit = create_async_engine(
            settings.database.url_for("audit", settings.core.data_dir)
        )

    @asynccontextmanager
    async def running(self, audit_apart: bool) -> AsyncIterator[PlatformSubject]:
        """Start the services, warm them up, stop the producer's own relay."""
        try:
            profile = self._args.py_spy if audit_apart else None
            async with _platform(self._settings, audit_apart, profile) as producer:
                self._producer = producer
                warm = await _produce(producer.state.database, 200, self._args.producers)
                await _all_recorded(self._audit, list(warm), self.name)
                await producer.state.relay.stop()  # each measurement starts its own
                yield self
        finally:
            await self._audit.dispose()

    async def drain(self, count: int) -> float:
        """Seconds from starting a relay on ``count`` committed events to their last record."""
        assert self._producer is not None
        database = self._producer.state.database
        backlog = await _produce(database, count, self._args.producers)
        relay = Relay("bench", database, self._producer.state.bus, self._settings.events)
        started = time.time()
        await relay.start()
        try:
            drained = await _all_recorded(self._audit, list(backlog), self.name)
        finally:
            await relay.stop()
        return max(drained.values()) - started

    async def latencies(self) -> list[float]:
        """Commit-to-record milliseconds of events committed at a steady rate."""
        assert self._producer is not None
        database = self._producer.state.database
        relay = Relay("bench", database, self._producer.state.bus, self._settings.events)
        await relay.start()
        try:
            args = self._args
            committed = await _paced(database, args.rate, args.seconds, args.producers)
            recorded = await _all_recorded(self._audit, list(committed), self.name)
        finally:
            await relay.stop()
        return [(recorded[i] - committed[i]) * 1000 for i in committed]


class RawSubject:
    """The baseline: aio-pika alone, persistent and confirmed, into a quorum queue."""

    name = "raw aio-pika"

    def __init__(self, args: argparse.Namespace, prefix: str) -> None:
        self._args = args
        self._queue = f"{prefix}.raw"
        self._defaults = EventSettings()
        self._received: dict[str, float] = {}
        self._body = b"x" * 600  # about the size of an outbox event's JSON

    @asynccontextmanager
    async def running(self) -> AsyncIterator[RawSubject]:
        """Declare the queue and start consuming; delete the queue afterwards."""
        import aio_pika

        connection = await aio_pika.connect_robust(self._args.amqp_url)
        try:
            channel = await connection.channel(publisher_confirms=True)
            self._exchange = await channel.declare_exchange(
                self._queue, aio_pika.ExchangeType.TOPIC, durable=True
            )
            queue = await channel.declare_queue(
                self._queue,
                durable=True,
                arguments={"x-queue-type": "quorum", "x-delivery-limit": 5},
            )
            await queue.bind(self._exchange, routing_key="#")
            consumer = await connection.channel()
            await consumer.set_qos(prefetch_count=self._defaults.event_prefetch)

            async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
                self._received[message.message_id or ""] = time.time()
                await message.ack()

            await (await consumer.get_queue(self._queue)).consume(on_message)
            yield self
            await channel.queue_delete(self._queue)
            await channel.exchange_delete(self._queue)
        finally:
            await connection.close()

    def _messages(self, count: int) -> list[tuple[str, Any]]:
        import aio_pika

        made = []
        for _ in range(count):
            message_id = str(uuid.uuid4())
            made.append(
                (
                    message_id,
                    aio_pika.Message(
                        self._body,
                        message_id=message_id,
                        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                    ),
                )
            )
        return made

    async def _publish(self, messages: list[Any]) -> None:
        await asyncio.gather(
            *(self._exchange.publish(m, routing_key=EVENT_TYPE, mandatory=False) for m in messages)
        )

    async def _all_received(self, ids: list[str]) -> None:
        while not all(i in self._received for i in ids):  # noqa: ASYNC110 - a poll, like the platform's
            await asyncio.sleep(0.01)

    async def drain(self, count: int) -> float:
        """Publish ``count`` in windows of the relay's batch size while consuming them."""
        ids: list[str] = []
        started = time.time()
        window = self._defaults.relay_batch_size
        for start in range(0, count, window):
            batch = self._messages(min(window, count - start))
            ids += [i for i, _ in batch]
            await self._publish([m for _, m in batch])
        await asyncio.wait_for(self._all_received(ids), 300)
        return max(self._received[i] for i in ids) - started

    async def latencies(self) -> list[float]:
        """Publish-to-consume milliseconds at the platform's steady rate."""
        sent: dict[str, float] = {}
        interval, end = 1 / self._args.rate, time.monotonic() + self._args.seconds
        next_at = time.monotonic()
        while next_at < end:
            [(message_id, message)] = self._messages(1)
            sent[message_id] = time.time()
            await self._publish([message])
            next_at += interval
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        await asyncio.wait_for(self._all_received(list(sent)), 300)
        return [(self._received[i] - sent[i]) * 1000 for i in sent]


def _result(name: str, count: int, seconds: list[float], latencies: list[float]) -> Result:
    # The median round: the machine's noise hits some rounds, not the middle one.
    return Result(name, count, statistics.median(seconds), latencies)


async def _drop_postgres(server: str, prefix: str) -> None:
    engine = create_async_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            for service in ("bench", "audit"):
                await connection.execute(
                    text(f'DROP DATABASE IF EXISTS "{prefix}_{service}" WITH (FORCE)')
                )
    finally:
        await engine.dispose()


async def _delete_topology(amqp_url: str, prefix: str) -> None:
    import aio_pika

    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        # The raw subject's too, in case it stopped before deleting them itself.
        for name in (f"{prefix}.audit", f"{prefix}.audit.dead", f"{prefix}.raw"):
            await channel.queue_delete(name)
        for name in (f"{prefix}.events", f"{prefix}.raw"):
            await channel.exchange_delete(name)
    finally:
        await connection.close()


async def main(args: argparse.Namespace) -> None:
    """Measure the three subjects (RabbitMQ and raw in alternating rounds); the ratio last."""
    logging.getLogger().setLevel(logging.WARNING)
    run_id = uuid.uuid4().hex[:8]
    prefix = f"devgen-bench-{run_id}"
    with tempfile.TemporaryDirectory(prefix="devgen-bench-events-") as scratch:
        directory = Path(scratch)
        memory_url = f"sqlite+aiosqlite:///{directory}/memory/{{service}}.db"
        if not args.skip_in_process:
            memory_settings = _settings(directory / "memory", memory_url)
            memory = PlatformSubject("in-process", memory_settings, args)
            async with memory.running(audit_apart=False):
                seconds = [await memory.drain(args.events) for _ in range(args.rounds)]
                in_process = _result(memory.name, args.events, seconds, await memory.latencies())
            print(in_process.line(), flush=True)

        database = f"devgen_bench_{run_id}"
        amqp = {"bus_url": args.amqp_url, "bus_prefix": prefix}
        settings = _settings(
            directory / "rabbitmq", f"{args.postgres}/{database}_{{service}}", **amqp
        )
        platform = PlatformSubject("rabbitmq", settings, args)
        raw = RawSubject(args, prefix)
        timings: dict[str, list[float]] = {platform.name: [], raw.name: []}
        try:
            async with platform.running(audit_apart=True), raw.running():
                for round_number in range(args.rounds):
                    order = (platform, raw) if round_number % 2 == 0 else (raw, platform)
                    for subject in order:
                        timings[subject.name].append(await subject.drain(args.events))
                platform_latencies = await platform.latencies()
                raw_latencies = await raw.latencies()
        finally:
            await _drop_postgres(args.postgres, database)
            await _delete_topology(args.amqp_url, prefix)
    rabbitmq = _result(platform.name, args.events, timings[platform.name], platform_latencies)
    baseline = _result(raw.name, args.events, timings[raw.name], raw_latencies)
    print(rabbitmq.line(), flush=True)
    print(baseline.line(), flush=True)
    print(
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; median of {args.rounds} rounds of "
        f"{args.events} events; latency at {args.rate:g}/s for {args.seconds:g} s from "
        f"{args.producers} producers; audit in its own process over RabbitMQ",
        flush=True,
    )
    print(f"events ratio: {rabbitmq.rate / baseline.rate:.2f}")


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--producers", type=int, default=8)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument(
        "--skip-in-process", action="store_true", help="measure RabbitMQ and raw only (profiling)"
    )
    parser.add_argument(
        "--py-spy",
        type=Path,
        metavar="DIR",
        help="sample the RabbitMQ subject's two processes with py-spy into DIR",
    )
    parser.add_argument("--amqp-url", default="amqp://guest:guest@127.0.0.1:5672/")
    parser.add_argument("--postgres", default="postgresql+asyncpg://postgres@127.0.0.1:5432")
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(_arguments()))
