"""Codegen's tables: the event outbox and the progress of running generations.

It stores no generated code (storage does); a progress row holds the last notes of one
generation (who writes what, tokens so far) so a caller may read them from any replica
while its request is still running. Rows are small and short-lived: they are purged an
hour after their last change.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from devgen.kit.db import ModelBase, UTCDateTime, utcnow
from devgen.kit.events import add_event_tables


class Base(ModelBase):
    """Root of codegen's metadata (its own database and migrations)."""

    __abstract__ = True


class GenerationProgress(Base):
    """The progress notes of one generation, under the caller's ``Idempotency-Key``."""

    __tablename__ = "generation_progress"

    tenant_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    entries: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    last: Mapped[int] = mapped_column(Integer, default=0)
    finished: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False, index=True
    )


add_event_tables(Base.metadata, emits=True, consumes=False)
