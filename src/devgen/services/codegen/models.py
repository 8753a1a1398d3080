"""Codegen's tables: only the event outbox (it stores no generated code; storage does)."""

from __future__ import annotations

from sqlalchemy import MetaData

from devgen.kit.db import ModelBase
from devgen.kit.events import add_event_tables


class Base(ModelBase):
    """Root of codegen's metadata (its own database and migrations)."""

    __abstract__ = True
    # A MetaData of its own: without it the tables would join the chassis's shared one,
    # and every service would seem to have an outbox.
    metadata = MetaData()


add_event_tables(Base.metadata, emits=True, consumes=False)
