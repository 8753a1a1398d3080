"""Where blob bytes live: the local file system (default) or an S3-compatible bucket."""

from __future__ import annotations

from contextlib import AsyncExitStack
from pathlib import Path

from devgen.services.storage.backends.base import BlobMissing, BlobStore, BlobStream
from devgen.services.storage.backends.local import LocalBlobStore
from devgen.services.storage.settings import BackendKind, StorageSettings

__all__ = ["BlobMissing", "BlobStore", "BlobStream", "LocalBlobStore", "open_blob_store"]


async def open_blob_store(
    settings: StorageSettings, root: Path, stack: AsyncExitStack
) -> BlobStore:
    """The configured store; whatever it holds open is released when ``stack`` closes.

    The S3 backend is imported only when chosen, so the default install
    does not need aioboto3.
    """
    if settings.storage_backend is BackendKind.s3:
        from devgen.services.storage.backends.s3 import S3BlobStore

        return await S3BlobStore.connect(settings.s3, stack)
    return LocalBlobStore(root / "blobs", staging=root / "tmp")
