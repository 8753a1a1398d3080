"""Small uploads keep their bytes in the blob's row: one commit makes file and bytes durable."""

from __future__ import annotations

import hashlib

import httpx
import pytest
from sqlalchemy import event, select

from devgen.runtime.allinone import build_platform
from devgen.services.storage.models import Blob, File
from devgen.services.storage.uploads import FLUSH_BYTES
from tests.helpers import eventually, register
from tests.services.storage.conftest import BOTH_BACKENDS
from tests.services.storage.support import FILES, MIB, put_file, random_bytes, stored

INLINE_MAX = 64 * 1024

BOTH_DATABASES = pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)


@pytest.fixture
def storage_env(storage_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The usual test settings, with small files kept inline (the default outside tests)."""
    monkeypatch.setenv("DEVGEN_STORAGE_INLINE_MAX_BYTES", str(INLINE_MAX))
    return {**storage_env, "DEVGEN_STORAGE_INLINE_MAX_BYTES": str(INLINE_MAX)}


def _database(platform):
    return platform.state.upstream_apps["storage"].state.database


async def _blob_row(platform, sha256: str) -> tuple[int, bytes | None] | None:
    async with _database(platform).transaction() as session:
        row = (
            await session.execute(select(Blob.ref_count, Blob.content).where(Blob.sha256 == sha256))
        ).first()
        return None if row is None else (row[0], row[1])


@BOTH_BACKENDS
@BOTH_DATABASES
async def test_a_small_file_lives_in_its_row_and_downloads_byte_identical(client, platform, blobs):
    account = await register(client)
    data = random_bytes(3000)
    file = await stored(client, account, data, filename="small.bin")
    assert file["sha256"] == hashlib.sha256(data).hexdigest()
    assert blobs.count() == 0  # the blob store was not written
    assert await _blob_row(platform, file["sha256"]) == (1, data)
    whole = await client.get(f"{FILES}/{file['id']}/content", headers=account.headers)
    assert (whole.status_code, whole.content) == (200, data)
    assert whole.headers["etag"] == f'"{file["sha256"]}"'
    part = await client.get(
        f"{FILES}/{file['id']}/content", headers={**account.headers, "Range": "bytes=10-19"}
    )
    assert (part.status_code, part.content) == (206, data[10:20])
    assert part.headers["content-range"] == "bytes 10-19/3000"


@BOTH_BACKENDS
async def test_a_file_above_the_inline_limit_goes_to_the_blob_store(client, platform, blobs):
    account = await register(client)
    data = random_bytes(INLINE_MAX + 1)
    file = await stored(client, account, data)
    assert blobs.keys() == {file["sha256"]}
    assert await _blob_row(platform, file["sha256"]) == (1, None)
    download = await client.get(f"{FILES}/{file['id']}/content", headers=account.headers)
    assert download.content == data


@pytest.mark.parametrize("size", [0, 1, 3000, FLUSH_BYTES - 1, FLUSH_BYTES, 2 * MIB + 17])
async def test_the_hash_taken_while_streaming_is_the_contents_hash(client, size):
    account = await register(client)
    data = random_bytes(size)
    file = await stored(client, account, data)
    assert (file["size"], file["sha256"]) == (size, hashlib.sha256(data).hexdigest())
    download = await client.get(f"{FILES}/{file['id']}/content", headers=account.headers)
    assert hashlib.sha256(download.content).hexdigest() == file["sha256"]


@BOTH_DATABASES
async def test_identical_small_files_share_one_row_until_the_last_is_deleted(client, platform):
    account = await register(client)
    data = b"print('hello')\n" * 50
    first, second = [await stored(client, account, data) for _ in range(2)]
    assert first["sha256"] == second["sha256"]
    assert await _blob_row(platform, first["sha256"]) == (2, data)
    await client.delete(f"{FILES}/{first['id']}", headers=account.headers)
    kept = await client.get(f"{FILES}/{second['id']}/content", headers=account.headers)
    assert kept.content == data
    await client.delete(f"{FILES}/{second['id']}", headers=account.headers)
    assert await _blob_row(platform, first["sha256"]) is None


@BOTH_BACKENDS
@pytest.mark.parametrize("size", [2000, INLINE_MAX + 1], ids=["inline", "in-the-store"])
async def test_an_upload_whose_commit_fails_leaves_no_file_and_no_bytes(
    client, platform, blobs, size
):
    """A commit that fails after the bytes were written leaves no file, no row and no bytes."""
    account = await register(client)
    engine = _database(platform).engine.sync_engine
    failed: list[str] = []

    def note_insert(connection, _cursor, statement, *_args) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO FILES"):
            connection.info["inserted_file"] = True

    def fail_the_commit(connection) -> None:
        if connection.info.pop("inserted_file", False) and not failed:
            failed.append("commit")
            raise RuntimeError("the disk went away")

    event.listen(engine, "after_cursor_execute", note_insert)
    event.listen(engine, "commit", fail_the_commit)
    try:
        # In process the client sees the app's error itself (a server would answer 500).
        with pytest.raises(RuntimeError, match="the disk went away"):
            await put_file(client, account, random_bytes(size))
    finally:
        event.remove(engine, "after_cursor_execute", note_insert)
        event.remove(engine, "commit", fail_the_commit)
    assert failed == ["commit"]
    listing = await client.get(FILES, headers=account.headers)
    assert listing.json()["data"] == []
    # Bytes already in the store are removed by a clean-up that follows the rollback.
    await eventually(blobs.count, until=lambda count: count == 0, what="orphaned bytes removed")
    async with _database(platform).transaction() as session:
        assert (await session.scalars(select(Blob.sha256))).all() == []
        assert (await session.scalars(select(File.id))).all() == []


@BOTH_BACKENDS
async def test_start_up_removes_bytes_a_crash_left_without_a_row(
    client, platform, blobs, settings, platform_services
):
    """A crash between putting the bytes and committing leaves bytes nobody counts."""
    account = await register(client)
    kept = await stored(client, account, random_bytes(INLINE_MAX + 10))
    store = platform.state.upstream_apps["storage"].state.storage.store
    orphan = random_bytes(INLINE_MAX + 20)
    orphan_key = hashlib.sha256(orphan).hexdigest()
    assert await store.put_bytes(orphan_key, orphan)  # as if the process died before COMMIT
    assert blobs.keys() == {kept["sha256"], orphan_key}
    restarted = build_platform(settings, services=platform_services, migrate_on_startup=False)
    async with restarted.router.lifespan_context(restarted):
        assert blobs.keys() == {kept["sha256"]}
        assert await _blob_row(restarted, orphan_key) is None
        transport = httpx.ASGITransport(app=restarted)
        async with httpx.AsyncClient(transport=transport, base_url="http://devgen") as again:
            download = await again.get(f"{FILES}/{kept['id']}/content", headers=account.headers)
            assert download.status_code == 200
