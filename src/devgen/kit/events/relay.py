"""The relay: publishes a service's outbox to the bus, in order, marking rows sent once confirmed.

It wakes when a transaction that emitted commits (and polls as a fallback,
for rows written by other processes). It reads unsent rows in outbox order
and hands them to the bus in that order, so events about one subject leave
in the order they were written. A row is marked sent only after the bus
confirmed it; a crash in between leaves it unsent and it is published again
at the next start (consumers absorb the duplicate). A failed publish is
retried with exponential back-off from the first failed row on; events
after it that were already confirmed are then published again (duplicates,
absorbed), so after a failure a consumer may see a subject's events out of
order once.

Positions are handed out when a row is inserted but become visible when its
transaction commits, in any order: the relay remembers positions it skipped
over and looks for them again until they appear (or are old enough to be a
rolled-back insert), and rescans from the start every few seconds.

On PostgreSQL several replicas may run the relay: one holds a lease (a
session-level advisory lock on a connection of its own) and relays; the
others wait to take over when its connection goes away. That keeps the
order without two replicas publishing the same rows. SQLite serves one
process, which needs no lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import random
import time
import zlib
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import Row, delete, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from devgen.kit.db import Database, utcnow
from devgen.kit.events.bus import EventBus, OutgoingEvent
from devgen.kit.events.metrics import event_metrics
from devgen.kit.events.outbox import register_waker, unregister_waker
from devgen.kit.events.tables import outbox
from devgen.kit.settings import EventSettings
from devgen.kit.waiting import wait_event

log = structlog.get_logger("devgen.events")

_LEASE_CHECK_SECONDS = 2.0
_MARK_GATHER_SECONDS = 0.05
_PURGE_EVERY_SECONDS = 600.0
_GAP_GRACE_SECONDS = 60.0
_MAX_GAPS = 200
# A scan from the start now and then catches anything else that slipped by.
_RESCAN_SECONDS = 15.0
_COLUMNS = select(
    outbox.c.position, outbox.c.event_id, outbox.c.type, outbox.c.envelope, outbox.c.created_at
)


class _Lease:
    """Who may relay this outbox: a PostgreSQL advisory lock held on a dedicated connection."""

    def __init__(self, database: Database, service: str) -> None:
        self._database = database
        self._key = zlib.crc32(f"devgen-relay:{service}".encode())
        self._connection: AsyncConnection | None = None
        self._checked_at = 0.0

    @property
    def needed(self) -> bool:
        return self._database.backend == "postgresql"

    async def hold(self) -> bool:
        """True while this process holds the lease (acquiring it when free)."""
        if not self.needed:
            return True
        try:
            if self._connection is not None:
                if time.monotonic() - self._checked_at >= _LEASE_CHECK_SECONDS:
                    await self._connection.execute(text("SELECT 1"))
                    await self._connection.commit()
                    self._checked_at = time.monotonic()
                return True
            connection = await self._database.engine.connect()
            acquired = await connection.scalar(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": self._key}
            )
            await connection.commit()
            if not acquired:
                await connection.close()
                return False
            self._connection = connection
            self._checked_at = time.monotonic()
            log.info("relay_lease_acquired", key=self._key)
            return True
        except Exception as exc:  # noqa: BLE001 - the lease is gone with its connection
            log.warning("relay_lease_lost", error=type(exc).__name__)
            await self.release()
            return False

    async def release(self) -> None:
        """Give the lease up: unlock, then hand the connection back to the pool."""
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            await connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self._key})
            await connection.commit()
            await connection.close()
        except Exception:  # noqa: BLE001 - a connection that cannot unlock must not be reused
            with contextlib.suppress(Exception):
                await connection.invalidate()
                await connection.close()


class Relay:
    """Publishes one service's outbox to the bus."""

    def __init__(
        self, service: str, database: Database, bus: EventBus, settings: EventSettings
    ) -> None:
        self.service = service
        self._database = database
        self._bus = bus
        self._settings = settings
        self._lease = _Lease(database, service)
        self._wake = asyncio.Event()
        self._confirmed: list[int] = []
        self._to_mark = asyncio.Event()
        self._in_flight: set[int] = set()
        self._cursor = 0
        self._gaps: dict[int, float] = {}
        self._rescanned_at = 0.0
        self._failures = 0
        self._retry_at = 0.0
        self._purged_at = 0.0
        self._tasks: list[asyncio.Task[None]] = []
        self._metrics = event_metrics()
        self._waiting_since: datetime | None = None
        self._metrics.outbox_lag.labels(service).set_function(self._lag)

    def _lag(self) -> float:
        # Age of the oldest event this relay last found waiting to be published.
        since = self._waiting_since
        return max((utcnow() - since).total_seconds(), 0.0) if since is not None else 0.0

    def wake(self) -> None:
        """Look at the outbox now (called after a commit that emitted)."""
        self._wake.set()

    async def start(self) -> None:
        """Start relaying in the background."""
        register_waker(self._database.engine, self.wake)
        self._tasks = [
            asyncio.create_task(self._run(), name=f"relay-{self.service}"),
            asyncio.create_task(self._mark_loop(), name=f"relay-mark-{self.service}"),
        ]

    async def stop(self) -> None:
        """Stop relaying; marks what was confirmed, the rest stays unsent."""
        unregister_waker(self._database.engine)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        with contextlib.suppress(Exception):
            await self._mark()
        await self._lease.release()

    async def _run(self) -> None:
        while True:
            try:
                if not await self._lease.hold():
                    self._cursor = 0  # whoever held it may have left anything unsent
                    await self._sleep(self._settings.relay_poll_seconds * 2)
                    continue
                published = await self._relay_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - keep relaying whatever went wrong
                log.warning("relay_failed", service=self.service, error=type(exc).__name__)
                self._fail()
                published = 0
            if not published:
                await self._sleep(self._pause())

    def _pause(self) -> float:
        wait = self._settings.relay_poll_seconds
        if self._retry_at:
            wait = max(0.0, min(wait, self._retry_at - time.monotonic()))
        return wait

    async def _sleep(self, seconds: float) -> None:
        await wait_event(self._wake, seconds)
        self._wake.clear()

    async def _relay_once(self) -> int:
        now = time.monotonic()
        if self._retry_at and now < self._retry_at:
            return 0
        if len(self._in_flight) >= self._settings.relay_batch_size:
            # At most about two batches await their confirms: more would only
            # queue up in the client, where publishes time out and come back
            # as retries that queue up again. Each mark wakes the relay.
            return 0
        await self._purge_sent(now)
        if now - self._rescanned_at >= _RESCAN_SECONDS:
            self._rescanned_at, self._cursor = now, 0
        self._wake.clear()
        cursor, known_gaps = self._cursor, list(self._gaps)
        # One query for the rows past the cursor and the gaps looked for
        # again (fewer round trips per pass: the pass is on the latency path).
        wanted = outbox.c.position > cursor
        if known_gaps:
            wanted = or_(wanted, outbox.c.position.in_(known_gaps))
        async with self._database.transaction() as session:
            rows = list(
                (
                    await session.execute(
                        _COLUMNS.where(outbox.c.sent_at.is_(None), wanted)
                        .order_by(outbox.c.position)
                        .limit(self._settings.relay_batch_size + len(known_gaps))
                    )
                ).all()
            )
            ahead = [row for row in rows if row.position > cursor]
            floor = cursor
            if floor == 0 and ahead:
                # A scan from the start: the last sent row before the first unsent
                # one bounds what a running transaction may still be holding.
                floor = await session.scalar(
                    select(func.max(outbox.c.position)).where(
                        outbox.c.sent_at.is_not(None), outbox.c.position < ahead[0].position
                    )
                ) or max(0, ahead[0].position - _MAX_GAPS)
        self._note_gaps(ahead, floor)
        fresh = {row.position: row for row in rows if row.position not in self._in_flight}
        for position in fresh:
            self._gaps.pop(position, None)
        if not fresh:
            if not self._in_flight:
                self._waiting_since = None
            return 0
        self._waiting_since = min(row.created_at for row in fresh.values())
        rows = [fresh[position] for position in sorted(fresh)]
        events = [OutgoingEvent(row.event_id, row.type, row.envelope.encode()) for row in rows]
        try:
            futures = await self._bus.publish(events)
        except Exception as exc:  # noqa: BLE001 - the bus is unreachable: back off
            log.warning("relay_publish_failed", service=self.service, error=type(exc).__name__)
            self._cursor = min(self._cursor, rows[0].position - 1)
            self._fail()
            return 0
        for row, future in zip(rows, futures, strict=True):
            self._in_flight.add(row.position)
            future.add_done_callback(functools.partial(self._settle, row.position))
        return len(rows)

    def _note_gaps(self, rows: Sequence[Row[Any]], floor: int) -> None:
        # Positions are handed out at insert and committed in any order, so a
        # position skipped over may belong to a transaction still running.
        # Each is looked for again on every pass until it shows up or is too
        # old to be anything but a rolled-back insert.
        now = time.monotonic()
        for position, seen in list(self._gaps.items()):
            if now - seen > _GAP_GRACE_SECONDS:
                del self._gaps[position]
        if not rows:
            return
        expected = max(floor + 1, rows[0].position - _MAX_GAPS)
        for row in rows:
            for missing in range(expected, min(row.position, expected + _MAX_GAPS)):
                self._gaps.setdefault(missing, now)
            expected = row.position + 1
        self._cursor = rows[-1].position

    def _settle(self, position: int, future: asyncio.Future[bool]) -> None:
        if not future.cancelled() and future.exception() is None:
            if future.result():
                self._confirmed.append(position)
                self._to_mark.set()
            else:
                # Nobody here consumes it: it stays unsent for a relay that can route it.
                self._in_flight.discard(position)
            return
        self._in_flight.discard(position)
        if future.cancelled():
            return
        error = future.exception()
        log.warning(
            "relay_publish_failed",
            service=self.service,
            position=position,
            error=type(error).__name__,
        )
        # Publish again from here on; later rows already confirmed are absorbed as duplicates.
        self._cursor = min(self._cursor, position - 1)
        self._fail()

    def _fail(self) -> None:
        self._failures += 1
        self._metrics.publish_failures.labels(self.service).inc()
        base = min(self._settings.relay_max_backoff_seconds, 0.05 * 2 ** min(self._failures, 16))
        self._retry_at = time.monotonic() + base * random.uniform(0.5, 1.0)  # noqa: S311

    async def _mark_loop(self) -> None:
        while True:
            await self._to_mark.wait()
            if len(self._confirmed) < self._settings.relay_batch_size:
                # Confirms trickle in one by one under a steady load: one UPDATE
                # for those of a moment instead of a transaction per event. The
                # events are at the broker already; a crash before the mark only
                # publishes them again (absorbed by the inbox).
                await asyncio.sleep(_MARK_GATHER_SECONDS)
            self._to_mark.clear()
            try:
                await self._mark()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the rows stay confirmed in memory; retry
                log.warning("relay_mark_failed", service=self.service, error=type(exc).__name__)
                await asyncio.sleep(0.5)
                self._to_mark.set()

    async def _mark(self) -> None:
        positions, self._confirmed = self._confirmed, []
        if not positions:
            return
        try:
            async with self._database.transaction() as session:
                for start in range(0, len(positions), 500):
                    chunk = positions[start : start + 500]
                    await session.execute(
                        update(outbox).where(outbox.c.position.in_(chunk)).values(sent_at=utcnow())
                    )
        except BaseException:
            self._confirmed = positions + self._confirmed
            raise
        held_back = len(self._in_flight) >= self._settings.relay_batch_size
        self._in_flight.difference_update(positions)
        self._metrics.published.labels(self.service).inc(len(positions))
        if self._failures:
            self._failures = 0
            self._retry_at = 0.0
            held_back = True
        if held_back:
            self._wake.set()  # it waits for room (or to retry at once): there is some now

    async def _purge_sent(self, now: float) -> None:
        if now - self._purged_at < _PURGE_EVERY_SECONDS:
            return
        self._purged_at = now
        cutoff = utcnow() - timedelta(hours=self._settings.outbox_keep_hours)
        async with self._database.transaction() as session:
            await session.execute(
                delete(outbox).where(outbox.c.sent_at.is_not(None), outbox.c.sent_at < cutoff)
            )
