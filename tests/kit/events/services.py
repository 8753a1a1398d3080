"""Two tiny services on the chassis for event tests: ``producer`` emits, ``consumer`` handles."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import String
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from devgen.kit.db import ModelBase, UUIDPrimaryKey
from devgen.kit.deps import Session
from devgen.kit.errors import Conflict
from devgen.kit.events import Consumer, Event, add_event_tables, emit
from devgen.kit.service import ServiceDefinition


class ProducerBase(ModelBase):
    __abstract__ = True


class ConsumerBase(ModelBase):
    __abstract__ = True


class Note(UUIDPrimaryKey, ProducerBase):
    __tablename__ = "notes"
    text: Mapped[str] = mapped_column(String(50))


class Effect(UUIDPrimaryKey, ConsumerBase):
    """One row per handler run that committed: duplicates would show as extra rows."""

    __tablename__ = "effects"
    event_id: Mapped[str] = mapped_column(String(36))
    event_type: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str | None] = mapped_column(String(200), nullable=True)


add_event_tables(ProducerBase.metadata, consumes=False)
add_event_tables(ConsumerBase.metadata, emits=False)


class NoteIn(BaseModel):
    text: str
    subject: str | None = None


router = APIRouter(prefix="/api/v1/notes")


@router.post("", status_code=201)
async def create_note(body: NoteIn, session: Session) -> dict[str, str]:
    note = Note(text=body.text)
    session.add(note)
    await session.flush()
    event = await emit(
        session, "producer.note.created", subject=body.subject or note.id, data={"note_id": note.id}
    )
    if body.text == "refuse":
        raise Conflict("written, emitted, then refused")
    return {"id": str(note.id), "event_id": event.id}


@dataclass
class Behaviour:
    """What the consumer's handler does; tests change it."""

    failures_left: dict[str, int] = field(default_factory=dict)
    always_fail: set[str] = field(default_factory=set)
    seen: list[str] = field(default_factory=list)

    async def handle(self, session: AsyncSession, event: Event) -> None:
        self.seen.append(event.id)
        if event.data.get("note_id") in self.always_fail or event.subject in self.always_fail:
            raise RuntimeError("poison")
        left = self.failures_left.get(event.id, 0)
        if left:
            self.failures_left[event.id] = left - 1
            raise RuntimeError("transient")
        session.add(Effect(event_id=event.id, event_type=event.type, subject=event.subject))


def definitions(behaviour: Behaviour, pattern: str = "producer.#") -> list[ServiceDefinition]:
    async def handler(session: AsyncSession, event: Event) -> None:
        await behaviour.handle(session, event)

    return [
        ServiceDefinition(
            name="producer",
            title="producer",
            description="emits",
            routers=[router],
            metadata=ProducerBase.metadata,
        ),
        ServiceDefinition(
            name="consumer",
            title="consumer",
            description="consumes",
            routers=[],
            metadata=ConsumerBase.metadata,
            consumers=(Consumer(pattern, handler),),
        ),
    ]
