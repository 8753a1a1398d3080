"""Blobs as objects in an S3-compatible bucket, through aioboto3.

Keys are ``<prefix>blobs/ab/cd/<sha256>``. S3 makes an object visible only
once its upload has completed, so readers never see part of a blob; large
blobs go up as multipart uploads. Reads ask for the byte range they need,
so a ``Range`` download never fetches more than it sends.

Tested against moto's server mode, a stand-in for real S3 (see
``docs/services/storage.md``).
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import aioboto3  # type: ignore[import-untyped]
from anyio import to_thread
from botocore.config import Config  # type: ignore[import-untyped]
from botocore.exceptions import ClientError  # type: ignore[import-untyped]

from devgen.services.storage.backends.base import (
    CHUNK_BYTES,
    BlobMissing,
    BlobStream,
    check_key,
    fan_out,
)
from devgen.services.storage.settings import S3Settings

_MISSING_CODES = frozenset({"404", "NoSuchKey", "NotFound"})


def _missing(error: ClientError) -> bool:
    return str(error.response.get("Error", {}).get("Code", "")) in _MISSING_CODES


class S3BlobStore:
    """A ``BlobStore`` in one S3 bucket; build it with ``connect``."""

    name = "s3"

    def __init__(self, client: Any, bucket: str, prefix: str = "") -> None:
        self._client = client
        self.bucket = bucket
        self.prefix = prefix

    @classmethod
    async def connect(cls, settings: S3Settings, stack: AsyncExitStack) -> S3BlobStore:
        """A store whose client lives as long as ``stack`` (the app's lifespan)."""
        session = aioboto3.Session()
        secret = settings.s3_secret_access_key.get_secret_value()
        client = await stack.enter_async_context(
            session.client(
                "s3",
                endpoint_url=settings.s3_endpoint_url or None,
                region_name=settings.s3_region,
                aws_access_key_id=settings.s3_access_key_id or None,
                aws_secret_access_key=secret or None,
                config=Config(
                    s3={"addressing_style": settings.s3_addressing_style},
                    retries={"max_attempts": 3, "mode": "standard"},
                ),
            )
        )
        store = cls(client, settings.s3_bucket, settings.s3_prefix)
        if settings.s3_create_bucket:
            await store.create_bucket()
        return store

    def key_of(self, key: str) -> str:
        """The object key of blob ``key``."""
        return f"{self.prefix}blobs/{fan_out(check_key(key))}"

    async def create_bucket(self) -> None:
        """Create the bucket unless it exists (development and tests)."""
        try:
            await self._client.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            if not _missing(exc):
                raise
            await self._client.create_bucket(Bucket=self.bucket)

    async def put_file(self, key: str, source: Path) -> bool:
        """Upload the staged file (multipart when large) unless it is there; then delete it."""
        try:
            if await self.exists(key):
                return False
            await self._client.upload_file(
                str(source),
                self.bucket,
                self.key_of(key),
                ExtraArgs={"ContentType": "application/octet-stream"},
            )
            return True
        finally:
            await to_thread.run_sync(functools.partial(source.unlink, missing_ok=True))

    async def put_bytes(self, key: str, data: bytes) -> bool:
        """One ``PutObject`` of ``data`` unless the object is there."""
        if await self.exists(key):
            return False
        await self._client.put_object(
            Bucket=self.bucket,
            Key=self.key_of(key),
            Body=data,
            ContentType="application/octet-stream",
        )
        return True

    async def open(self, key: str, start: int = 0, end: int | None = None) -> BlobStream:
        """A ranged GET whose body is streamed in chunks."""
        wanted = f"bytes={start}-{'' if end is None else end}"
        try:
            response = await self._client.get_object(
                Bucket=self.bucket, Key=self.key_of(key), Range=wanted
            )
        except ClientError as exc:
            if _missing(exc):
                raise BlobMissing(key) from exc
            raise
        body = response["Body"]

        async def chunks() -> AsyncIterator[bytes]:
            async for chunk in body.iter_chunks(CHUNK_BYTES):
                yield chunk

        async def close() -> None:
            body.close()

        return BlobStream(chunks(), close)

    async def keys(self) -> AsyncIterator[str]:
        """Every object under ``<prefix>blobs/``, page by page."""
        paginator = self._client.get_paginator("list_objects_v2")
        async for page in paginator.paginate(Bucket=self.bucket, Prefix=f"{self.prefix}blobs/"):
            for item in page.get("Contents", []):
                name = item["Key"].rsplit("/", 1)[-1]
                if len(name) == 64 and all(c in "0123456789abcdef" for c in name):
                    yield name

    async def exists(self, key: str) -> bool:
        """A HEAD request on the object."""
        try:
            await self._client.head_object(Bucket=self.bucket, Key=self.key_of(key))
        except ClientError as exc:
            if _missing(exc):
                return False
            raise
        return True

    async def delete(self, key: str) -> None:
        """Delete the object (S3 answers success for a missing one too)."""
        await self._client.delete_object(Bucket=self.bucket, Key=self.key_of(key))

    async def ping(self) -> None:
        """A HEAD request on the bucket."""
        await self._client.head_bucket(Bucket=self.bucket)
