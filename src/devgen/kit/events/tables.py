"""The event tables a service keeps in its own database: outbox, inbox, dead letters.

The chassis defines them once; ``add_event_tables`` copies them into a
service's metadata so its own migrations create them (``devgen
makemigration <service>`` picks them up). The chassis reads and writes them
through the definitions here, which name the same tables.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    text,
)

from devgen.kit.db import ModelBase, UTCDateTime

_metadata = MetaData()

outbox = Table(
    "event_outbox",
    _metadata,
    # The position orders the outbox: the relay publishes in this order.
    Column("position", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("event_id", String(36), nullable=False, unique=True),
    Column("type", String(200), nullable=False),
    Column("subject", String(200), nullable=True),
    # The CloudEvent as JSON, published verbatim.
    Column("envelope", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime, nullable=True),
    Index(
        "ix_event_outbox_unsent",
        "position",
        sqlite_where=text("sent_at IS NULL"),
        postgresql_where=text("sent_at IS NULL"),
    ),
    Index("ix_event_outbox_sent_at", "sent_at"),
    sqlite_autoincrement=True,
)
"""Events written in the same transaction as the change they describe."""

inbox = Table(
    "event_inbox",
    _metadata,
    Column("event_id", String(36), primary_key=True),
    Column("type", String(200), nullable=False),
    Column("handled_at", UTCDateTime, nullable=False),
)
"""Ids of the events this service has handled: a redelivery finds its id here."""

dead_letters = Table(
    "event_dead_letters",
    _metadata,
    Column("event_id", String(36), primary_key=True),
    Column("type", String(200), nullable=False),
    Column("envelope", Text, nullable=False),
    Column("error", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("dead_at", UTCDateTime, nullable=False),
    Column("replay_requested_at", UTCDateTime, nullable=True),
)
"""Events whose handler kept failing (in-process bus; RabbitMQ keeps a dead-letter queue)."""


def add_event_tables(metadata: MetaData, *, emits: bool = True, consumes: bool = True) -> None:
    """Put the event tables into a service's ``metadata``.

    The outbox for a service that ``emits`` events; the inbox and the dead
    letters for one that ``consumes`` them.
    """
    if metadata is ModelBase.metadata:
        # The chassis's own root: the event tables would appear in no service.
        raise ValueError("pass the service's Base.metadata (class Base(ModelBase), abstract)")
    chosen = ([outbox] if emits else []) + ([inbox, dead_letters] if consumes else [])
    for table in chosen:
        if table.name not in metadata.tables:
            table.to_metadata(metadata)


def has_outbox(metadata: MetaData | None) -> bool:
    """Whether a service's schema has an outbox (so a relay must run for it)."""
    return metadata is not None and outbox.name in metadata.tables
