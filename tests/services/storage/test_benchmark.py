"""The benchmark helpers measure real writes through the API and plain file I/O."""

from __future__ import annotations

import os

from bench.storage_writes import compare, sign_up, store_artifact

from tests.services.storage.support import FILES


async def test_compare_stores_every_file_and_writes_the_same_bytes(client, blobs, tmp_path):
    headers = await sign_up(client)
    files = {f"src/module_{i}.py": os.urandom(2000) for i in range(20)}
    result = await compare(client, headers, files, tmp_path / "plain", concurrency=4, fsync=True)
    assert result.storage.files == result.plain.files == 20
    assert result.storage.bytes == result.plain.bytes == 40_000
    assert result.storage.files_per_second > 0
    assert result.ratio > 0
    assert "files/s" in result.summary()
    assert blobs.count() == 20
    assert len(list((tmp_path / "plain").iterdir())) == 20
    listing = await client.get(FILES, params={"limit": 100}, headers=headers)
    assert listing.json()["metadata"]["total"] == 20


async def test_a_project_can_be_stored_in_one_request(client, blobs):
    headers = await sign_up(client)
    rate = await store_artifact(client, headers, {f"pkg/m{i}.py": f"x = {i}\n" for i in range(30)})
    assert (rate.files, blobs.count()) == (30, 1)
