"""The hash chain: appending a record, and what makes a record's hash.

``hash = SHA-256(prev_hash ‖ canonical JSON of the record)``, where
``prev_hash`` is the hex hash of the record before it in the same chain
(64 zeros for the first), ``‖`` is concatenation of the two as UTF-8 text
and the canonical JSON has sorted keys, no spaces, UTF-8, timestamps as
RFC 3339 UTC with microseconds. It covers every field but the hashes, so
editing any field, removing a record or swapping two breaks the chain.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import event, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from devgen.kit.db import utcnow
from devgen.kit.events.envelope import format_time
from devgen.services.audit.models import AuditChain, AuditRecord

GENESIS = "0" * 64
"""The ``prev_hash`` of a chain's first record."""

HASHED_FIELDS = (
    "id",
    "chain",
    "seq",
    "event_id",
    "time",
    "recorded_at",
    "tenant_id",
    "actor",
    "action",
    "resource_type",
    "resource_id",
    "outcome",
    "source",
    "request_id",
    "ip",
    "user_agent",
    "level",
    "data",
)

_HEADS_KEY = "devgen.audit.heads"
_PENDING_KEY = "devgen.audit.pending"
_listening = False


def plain_value(value: Any) -> Any:
    """A field value as JSON sees it (timestamps and UUIDs as text)."""
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


OPTIONAL_HASHED_FIELDS = ("trace_id",)
"""Hashed when set: records written before these fields existed keep their hashes."""


def canonical(record: AuditRecord | Mapping[str, Any]) -> str:
    """The record's canonical JSON (the hashed fields only)."""
    if isinstance(record, Mapping):
        document = {name: plain_value(record[name]) for name in HASHED_FIELDS}
        optional = {name: record.get(name) for name in OPTIONAL_HASHED_FIELDS}
    else:
        document = {name: plain_value(getattr(record, name)) for name in HASHED_FIELDS}
        optional = {name: getattr(record, name, None) for name in OPTIONAL_HASHED_FIELDS}
    document |= {name: value for name, value in optional.items() if value is not None}
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def digest(prev_hash: str, record: AuditRecord | Mapping[str, Any]) -> str:
    """``SHA-256(prev_hash ‖ canonical JSON)`` as hex."""
    return hashlib.sha256((prev_hash + canonical(record)).encode()).hexdigest()


async def _head(session: AsyncSession, chain: str) -> AuditChain:
    # Locked for the rest of the transaction: appends to one chain take turns.
    heads: dict[str, AuditChain] = session.info.setdefault(_HEADS_KEY, {})
    if chain in heads:
        return heads[chain]
    dialect = session.get_bind().dialect.name
    upsert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    await session.execute(
        upsert(AuditChain)
        .values(chain=chain, last_seq=0, last_hash=GENESIS, updated_at=utcnow())
        .on_conflict_do_nothing(index_elements=["chain"])
    )
    head = await session.scalar(
        select(AuditChain).where(AuditChain.chain == chain).with_for_update()
    )
    assert head is not None
    heads[chain] = head
    return head


async def append(session: AsyncSession, record: dict[str, Any]) -> dict[str, Any]:
    """Give ``record`` (the fields of an audit record) the next place in its chain and hash it.

    The row is written at the session's next flush, together with the other
    records appended since: a batch of events costs one INSERT, not one each.
    """
    head = await _head(session, record["chain"])
    record["id"] = record.get("id") or uuid.uuid4()
    record["seq"] = head.last_seq + 1
    record["prev_hash"] = head.last_hash
    record["recorded_at"] = utcnow()
    record["hash"] = digest(record["prev_hash"], record)
    head.last_seq = record["seq"]
    head.last_hash = record["hash"]
    head.updated_at = record["recorded_at"]
    _install_listeners()
    session.sync_session.info.setdefault(_PENDING_KEY, []).append(record)
    return record


def _write_pending(session: Session, *_: Any) -> None:
    # Runs inside the flush, on the flush's connection, before the head rows
    # are updated: the records and their chain heads change together.
    pending = session.info.pop(_PENDING_KEY, None)
    if pending:
        session.execute(insert(AuditRecord.__table__), pending)


def _drop_pending(session: Session, *_: Any) -> None:
    # A savepoint starts with a flush, so whatever is pending at a rollback
    # was appended inside the part being rolled back.
    session.info.pop(_PENDING_KEY, None)


def _install_listeners() -> None:
    # On first use, not at import: importing has no side effects.
    global _listening
    if not _listening:
        event.listen(Session, "before_flush", _write_pending)
        event.listen(Session, "after_soft_rollback", _drop_pending)
        _listening = True
