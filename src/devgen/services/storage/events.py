"""The events storage emits (it consumes none).

| type | data |
|---|---|
| ``storage.file.uploaded`` | file_id, sha256, size, content_type |
| ``storage.file.deleted`` | file_id, sha256 |
| ``storage.artifact.created`` | artifact_id, run_id, archive_sha256, file_count |
| ``storage.artifact.deleted`` | artifact_id, archive_sha256 |

Each is written to the outbox (``devgen.kit.events``) in the transaction
that records the change, so it exists exactly when the change does; the
chassis' relay publishes it. Events carry ids and hashes, never content: a
consumer reads the file or artifact through the API.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from devgen.kit.auth import Principal
from devgen.kit.events import emit as outbox_emit


class StorageEvent(StrEnum):
    """Event types, ``<service>.<entity>.<verb>``."""

    file_uploaded = "storage.file.uploaded"
    file_deleted = "storage.file.deleted"
    artifact_created = "storage.artifact.created"
    artifact_deleted = "storage.artifact.deleted"


async def emit(
    session: AsyncSession,
    event: StorageEvent,
    principal: Principal,
    subject: str,
    data: dict[str, Any],
) -> None:
    """Record ``event`` about ``subject`` (an id) in the current transaction, by ``principal``."""
    await outbox_emit(
        session,
        event.value,
        subject=subject,
        data=data,
        tenant_id=principal.tenant_id,
        actor=principal,
    )
