"""A tiny service built on the chassis, to test the chassis itself."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from pydantic import BaseModel, ConfigDict
from sqlalchemy import String
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from devgen.kit.app import create_app
from devgen.kit.db import ModelBase, UUIDPrimaryKey, record_and_raise
from devgen.kit.deps import KnownQueryParameters, Session
from devgen.kit.errors import Conflict, NotFound
from devgen.kit.service import ServiceDefinition
from devgen.kit.settings import CoreSettings, DatabaseSettings, HttpSettings, Settings


class _Base(ModelBase):
    __abstract__ = True


class Note(UUIDPrimaryKey, _Base):
    __tablename__ = "notes"
    text: Mapped[str] = mapped_column(String(50))


class NoteIn(BaseModel):
    text: str


class StrictNoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str


router = APIRouter(prefix="/api/v1/notes")


@router.post("", status_code=201)
async def create_note(body: NoteIn, session: Session) -> dict[str, str]:
    note = Note(text=body.text)
    session.add(note)
    await session.flush()
    if body.text == "conflict-after-write":
        raise Conflict("written then refused")
    if body.text == "record-then-refuse":

        async def record(kept: AsyncSession) -> None:
            kept.add(Note(text="the record"))

        await record_and_raise(session, record, Conflict("recorded and refused"))
    if body.text == "boom":
        raise RuntimeError("secret internal detail")
    return {"id": str(note.id)}


@router.get("/count")
async def count_notes(session: Session) -> dict[str, int]:
    from sqlalchemy import func, select

    return {"count": int(await session.scalar(select(func.count()).select_from(Note)) or 0)}


@router.post("/strict")
async def strict_note(body: StrictNoteIn) -> dict[str, str]:
    return {"text": body.text}


@router.get("/search", dependencies=[KnownQueryParameters])
async def search_notes(text: str | None = None) -> dict[str, str | None]:
    return {"text": text}


@router.get("/missing")
async def missing() -> None:
    raise NotFound("no such note", details={"id": "x"})


@pytest.fixture
def kit_settings(tmp_path: Path) -> Settings:
    return Settings(
        core=CoreSettings(env="test", data_dir=tmp_path),
        database=DatabaseSettings(database_url=f"sqlite+aiosqlite:///{tmp_path}/{{service}}.db"),
        http=HttpSettings(max_body_bytes=4096, cors_origins=["https://app.example"]),
    )


@pytest.fixture
async def kit_app(kit_settings: Settings) -> AsyncIterator[FastAPI]:
    definition = ServiceDefinition(
        name="notes", title="notes", description="test", routers=[router], metadata=_Base.metadata
    )
    app = create_app(definition, kit_settings)
    async with app.router.lifespan_context(app):
        async with app.state.database.engine.begin() as connection:
            await connection.run_sync(_Base.metadata.create_all)
        yield app


@pytest.fixture
async def kit_client(kit_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=kit_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client
