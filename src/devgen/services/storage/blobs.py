"""Keeping the blob store and the ``blobs`` table in step.

Adding a reference: the row's count is raised first (which locks the row),
then the bytes are stored if the store lacks them; both happen inside the
request's transaction, so a clean-up of the same blob either finished before
(and the bytes are stored again) or waits until after (and sees the count).

Dropping the last reference only marks the blob (count zero) in the
request's transaction; the bytes are deleted after that transaction has
committed, by ``collect``, which locks the row, checks the count is still
zero, deletes the bytes and then the row. A crash in between leaves a marked
row that ``collect_pending`` (run at start-up) finishes, so bytes are never
deleted while referenced and never lost track of.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from devgen.kit.db import Database
from devgen.services.storage import repository
from devgen.services.storage.backends import BlobStore

log = structlog.get_logger(__name__)


async def add_reference(
    session: AsyncSession, store: BlobStore, sha256: str, size: int, staged: Path | bytes
) -> bool:
    """Refer to the blob with these bytes, storing them from ``staged`` when new.

    ``staged`` is a staging file or, for a small blob, the bytes
    themselves. Returns whether the bytes were stored by this call (so a
    failure later in the same transaction can take them back with
    ``undo_store``); when the store had them, the staged copy is dropped.
    """
    await repository.add_blob_reference(session, sha256, size)
    if isinstance(staged, bytes):
        return await store.put_bytes(sha256, staged)
    return await store.put_file(sha256, staged)


async def undo_store(store: BlobStore, sha256: str) -> None:
    """Remove bytes stored earlier in this (failing) transaction.

    Called before the rollback, while this transaction still holds the
    blob's row (and the count it added will be rolled back), so nobody else
    can have started to rely on those bytes.
    """
    try:
        await store.delete(sha256)
    except Exception:  # the original error matters more; the bytes are orphaned
        log.warning("storage_blob_undo_failed", sha256=sha256, exc_info=True)


async def drop_reference(session: AsyncSession, sha256: str) -> None:
    """Count one reference fewer; call ``collect`` for it after the commit."""
    await repository.drop_blob_reference(session, sha256)


async def collect(database: Database, store: BlobStore, keys: Iterable[str]) -> list[str]:
    """Delete the bytes of each blob that nothing refers to; returns those deleted.

    Each blob in a transaction of its own; safe to run twice or concurrently.
    """
    deleted: list[str] = []
    for sha256 in keys:
        async with database.transaction() as session:
            blob = await repository.locked_blob(session, sha256)
            if blob is None or blob.ref_count > 0:
                continue
            await store.delete(sha256)
            await repository.delete_blob_row(session, sha256)
        deleted.append(sha256)
    return deleted


async def collect_quietly(database: Database, store: BlobStore, keys: list[str]) -> None:
    """``collect`` for after a response: failures are logged and left for start-up."""
    try:
        await collect(database, store, keys)
    except Exception:  # the marked rows remain and are retried at start-up
        log.warning("storage_blob_collect_failed", keys=keys, exc_info=True)


async def collect_pending(database: Database, store: BlobStore, batch: int = 500) -> int:
    """Finish every clean-up a crash or failure left behind; returns how many blobs went."""
    total = 0
    seen: set[str] = set()
    while True:
        async with database.transaction() as session:
            keys = await repository.unreferenced_blobs(session, batch)
        fresh = [key for key in keys if key not in seen]
        if not fresh:
            return total
        seen.update(fresh)
        total += len(await collect(database, store, fresh))
