"""Dead letters of the in-process bus, kept in the consuming service's own database.

An event whose handler failed on every attempt is stored here with the last
error. ``request_replay`` marks some (or all) for another try; the running
consumer picks the marks up within ``DEVGEN_DEAD_LETTER_POLL_SECONDS`` (or at
its next start) and deletes each dead letter once its handler succeeds.
RabbitMQ keeps its dead letters in a queue instead (``devgen.kit.events.amqp``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, insert, select, update

from devgen.kit.db import Database, utcnow
from devgen.kit.events.tables import dead_letters


@dataclass(frozen=True)
class DeadLetter:
    """An event that could not be handled, and why."""

    event_id: str
    type: str
    envelope: str
    error: str
    attempts: int
    dead_at: datetime
    replay_requested: bool


async def record_dead_letter(
    database: Database, *, event_id: str, event_type: str, envelope: str, error: str, attempts: int
) -> None:
    """Store (or refresh) the dead letter of ``event_id``."""
    async with database.transaction() as session:
        await session.execute(delete(dead_letters).where(dead_letters.c.event_id == event_id))
        await session.execute(
            insert(dead_letters).values(
                event_id=event_id,
                type=event_type,
                envelope=envelope,
                error=error[:4000],
                attempts=attempts,
                dead_at=utcnow(),
                replay_requested_at=None,
            )
        )


async def list_dead_letters(database: Database, limit: int = 1000) -> list[DeadLetter]:
    """The dead letters of one service, oldest first."""
    async with database.transaction() as session:
        rows = await session.execute(
            select(dead_letters).order_by(dead_letters.c.dead_at).limit(limit)
        )
        return [
            DeadLetter(
                event_id=row.event_id,
                type=row.type,
                envelope=row.envelope,
                error=row.error,
                attempts=row.attempts,
                dead_at=row.dead_at,
                replay_requested=row.replay_requested_at is not None,
            )
            for row in rows
        ]


async def request_replay(database: Database, event_ids: Sequence[str] | None = None) -> int:
    """Mark dead letters for another try (all of them when ``event_ids`` is None)."""
    query = update(dead_letters).values(replay_requested_at=utcnow())
    if event_ids is not None:
        query = query.where(dead_letters.c.event_id.in_(list(event_ids)))
    async with database.transaction() as session:
        result = await session.execute(query)
        return int(result.rowcount)  # type: ignore[attr-defined]


async def claim_replays(database: Database, limit: int = 500) -> list[tuple[str, str]]:
    """``(event_id, envelope)`` of the dead letters marked for replay; clears the marks."""
    async with database.transaction() as session:
        rows = (
            await session.execute(
                select(dead_letters.c.event_id, dead_letters.c.envelope)
                .where(dead_letters.c.replay_requested_at.is_not(None))
                .order_by(dead_letters.c.dead_at)
                .limit(limit)
            )
        ).all()
        if rows:
            await session.execute(
                update(dead_letters)
                .where(dead_letters.c.event_id.in_([row.event_id for row in rows]))
                .values(replay_requested_at=None)
            )
        return [(row.event_id, row.envelope) for row in rows]


async def forget_dead_letters(database: Database, event_ids: Sequence[str]) -> None:
    """Delete the dead letters of events that were handled after all."""
    if event_ids:
        async with database.transaction() as session:
            await session.execute(
                delete(dead_letters).where(dead_letters.c.event_id.in_(list(event_ids)))
            )


async def count_dead_letters(database: Database) -> int:
    """How many dead letters the service has."""
    async with database.transaction() as session:
        return int(await session.scalar(select(func.count()).select_from(dead_letters)) or 0)
