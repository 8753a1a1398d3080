"""Blob bookkeeping under concurrency and after crashes, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import delete, select

from devgen.runtime.allinone import build_platform
from devgen.services.storage import repository
from devgen.services.storage.models import Blob, File
from tests.helpers import register
from tests.services.storage.conftest import SERVICES
from tests.services.storage.support import ARTIFACTS, FILES, put_file, random_bytes, stored

BOTH_DATABASES = pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)


def _database(platform):
    return platform.state.upstream_apps["storage"].state.database


async def _ref_count(platform, sha256: str) -> int | None:
    async with _database(platform).transaction() as session:
        blob = await session.get(Blob, sha256)
        return None if blob is None else blob.ref_count


@BOTH_DATABASES
async def test_concurrent_uploads_and_deletes_of_the_same_bytes_keep_count(client, platform, blobs):
    account = await register(client)
    data = random_bytes(10_000)
    responses = await asyncio.gather(*(put_file(client, account, data) for _ in range(8)))
    assert {r.status_code for r in responses} == {201}
    sha256 = responses[0].json()["data"]["sha256"]
    assert await _ref_count(platform, sha256) == 8
    assert blobs.count() == 1
    deletions = await asyncio.gather(
        *(
            client.delete(f"{FILES}/{r.json()['data']['id']}", headers=account.headers)
            for r in responses
        )
    )
    assert {r.status_code for r in deletions} == {204}
    assert await _ref_count(platform, sha256) is None
    assert blobs.count() == 0


@BOTH_DATABASES
async def test_an_upload_racing_the_last_delete_keeps_its_bytes(client, platform, blobs):
    account = await register(client)
    data = random_bytes(5000)
    for _ in range(5):
        first = await stored(client, account, data)
        deleted, second = await asyncio.gather(
            client.delete(f"{FILES}/{first['id']}", headers=account.headers),
            put_file(client, account, data),
        )
        assert (deleted.status_code, second.status_code) == (204, 201)
        content = await client.get(second.json()["data"]["content_url"], headers=account.headers)
        assert content.content == data
        await client.delete(f"{FILES}/{second.json()['data']['id']}", headers=account.headers)
    assert blobs.count() == 0


@BOTH_DATABASES
async def test_concurrent_retries_with_one_idempotency_key_make_one_artifact(client, blobs):
    account = await register(client)
    headers = {**account.headers, "Idempotency-Key": "package-step-7"}
    body = {"files": {"main.py": "print('hi')\n"}}
    responses = await asyncio.gather(
        *(client.post(ARTIFACTS, json=body, headers=headers) for _ in range(6))
    )
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["data"]["id"] for r in responses}) == 1
    listing = await client.get(ARTIFACTS, headers=account.headers)
    assert len(listing.json()["data"]) == 1
    assert blobs.count() == 1


async def test_clean_ups_left_by_a_crash_finish_at_start_up(client, platform, settings, blobs):
    account = await register(client)
    kept = await stored(client, account, b"kept")
    orphan = await stored(client, account, b"orphan")
    # A delete committed, then the process died before removing the bytes.
    async with _database(platform).transaction() as session:
        await session.execute(delete(File).where(File.id == uuid.UUID(orphan["id"])))
        await repository.drop_blob_reference(session, orphan["sha256"])
    staging = Path(settings.core.data_dir) / "storage" / "tmp"
    stale, fresh = staging / "upload-stale.part", staging / "upload-fresh.part"
    stale.write_bytes(b"half an upload")
    fresh.write_bytes(b"an upload in progress elsewhere")
    hours_ago = time.time() - 2 * 3600
    os.utime(stale, (hours_ago, hours_ago))
    assert blobs.keys() == {kept["sha256"], orphan["sha256"]}

    restarted = build_platform(settings, services=SERVICES, migrate_on_startup=False)
    async with restarted.router.lifespan_context(restarted):
        assert blobs.keys() == {kept["sha256"]}
        async with _database(restarted).transaction() as session:
            assert (await session.scalars(select(Blob.sha256))).all() == [kept["sha256"]]
    assert not stale.exists()
    assert fresh.exists()
