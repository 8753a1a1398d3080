"""Codegen's tables: only the event outbox (it stores no generated code; storage does)."""

from __future__ import annotations

from devgen.kit.db import ModelBase
from devgen.kit.events import add_event_tables


class Base(ModelBase):
    """Root of codegen's metadata (its own database and migrations)."""

    __abstract__ = True


add_event_tables(Base.metadata, emits=True, consumes=False)
