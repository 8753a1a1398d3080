"""Profile's tables: preferences, notification settings and avatars, all keyed by user id.

A profile belongs to a person, not to a tenant: the same preferences follow
the user into every tenant they act in. The user id comes from the verified
token, so the key is also the ownership check.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from devgen.kit.db import ModelBase, Timestamps, UTCDateTime, utcnow
from devgen.kit.events import add_event_tables


class Base(ModelBase):
    """Root of profile's metadata (its own database and migrations)."""

    __abstract__ = True


class Profile(Timestamps, Base):
    """A user's preferences; one row per user, created on first access."""

    __tablename__ = "profiles"

    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    theme: Mapped[str] = mapped_column(String(16), default="system")
    language: Mapped[str] = mapped_column(String(16), default="en")
    default_engine: Mapped[str] = mapped_column(String(16), default="template")
    default_programming_language: Mapped[str] = mapped_column(String(32), default="python")


class NotificationSetting(Base):
    """How one kind of event reaches the user; kinds without a row use the default."""

    __tablename__ = "notification_settings"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("profiles.user_id", ondelete="CASCADE"), primary_key=True
    )
    event_kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    webhook_url: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False
    )


class Avatar(Base):
    """The user's avatar, already re-encoded; ``data`` is loaded only when served."""

    __tablename__ = "avatars"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("profiles.user_id", ondelete="CASCADE"), primary_key=True
    )
    content_type: Mapped[str] = mapped_column(String(32))
    sha256: Mapped[str] = mapped_column(String(64))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    size_bytes: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False
    )


add_event_tables(Base.metadata)
