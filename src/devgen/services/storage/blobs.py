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

import asyncio
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

from devgen.kit.db import Database
from devgen.services.storage import repository
from devgen.services.storage.backends import BlobStore

log = structlog.get_logger(__name__)


async def add_reference(
    session: AsyncSession,
    store: BlobStore,
    sha256: str,
    size: int,
    staged: Path | bytes,
    *,
    inline_max_bytes: int = 0,
) -> bool:
    """Refer to the blob with these bytes, storing them from ``staged`` when new.

    ``staged`` is a staging file or, for a small blob, the bytes
    themselves; bytes of at most ``inline_max_bytes`` go into the blob's
    row, in this transaction, and the store is not touched. Returns whether
    the bytes were put in the store by this call (so a failure later in the
    same transaction can take them back with ``undo_store``); when the
    store had them, the staged copy is dropped.
    """
    if isinstance(staged, bytes) and inline_max_bytes > 0 and len(staged) <= inline_max_bytes:
        await repository.add_blob_reference(session, sha256, size, staged)
        return False  # committed with the row or not at all: nothing to undo
    await repository.add_blob_reference(session, sha256, size)
    if isinstance(staged, bytes):
        return await store.put_bytes(sha256, staged)
    return await store.put_file(sha256, staged)


def reap_if_rolled_back(
    session: AsyncSession, database: Database, store: BlobStore, sha256: str
) -> None:
    """If this transaction rolls back (its commit failed), remove the bytes it stored.

    An error inside the service is handled by ``undo_store``; this covers the
    commit itself failing, after the service returned. The clean-up runs as
    a task of its own (``reap``), after the rollback.
    """

    def rolled_back(_session: Any) -> None:
        task = asyncio.get_running_loop().create_task(_reap_quietly(database, store, [sha256]))
        _reaping.add(task)
        task.add_done_callback(_reaping.discard)

    event.listen(session.sync_session, "after_rollback", rolled_back, once=True)


_reaping: set[asyncio.Task[None]] = set()


async def reap(database: Database, store: BlobStore, keys: list[str]) -> list[str]:
    """Remove the bytes of keys that nothing refers to (no row or a count of zero).

    The keys get a row with no references first (committed), then ``collect``
    removes bytes and row under the row's lock: an upload of the same bytes
    either counted itself before (and the bytes stay) or waits and stores
    them again. A crash in between leaves zero-count rows for start-up.
    """
    async with database.transaction() as session:
        await repository.claim_orphans(session, keys)
    return await collect(database, store, keys)


async def _reap_quietly(database: Database, store: BlobStore, keys: list[str]) -> None:
    try:
        await reap(database, store, keys)
    except Exception:  # the next start-up's sweep finds the bytes again
        log.warning("storage_blob_reap_failed", keys=keys, exc_info=True)


async def sweep_orphans(database: Database, store: BlobStore, batch: int = 500) -> int:
    """Remove stored bytes that have no row: what a crash between put and commit leaves.

    Walks the whole store (start-up only); returns how many blobs went.
    """
    removed = 0
    pending: list[str] = []
    async for key in store.keys():
        pending.append(key)
        if len(pending) >= batch:
            removed += await _sweep_batch(database, store, pending)
            pending = []
    if pending:
        removed += await _sweep_batch(database, store, pending)
    return removed


async def _sweep_batch(database: Database, store: BlobStore, keys: list[str]) -> int:
    async with database.read_session() as session:
        known = await repository.known_blobs(session, keys)
    orphans = [key for key in keys if key not in known]
    return len(await reap(database, store, orphans)) if orphans else 0


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
