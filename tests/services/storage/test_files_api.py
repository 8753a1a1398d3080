"""``/api/v1/files``: upload, metadata, download, dedupe, delete and list."""

from __future__ import annotations

import gzip
import hashlib
import uuid

from tests.helpers import assert_error, register
from tests.services.storage.conftest import BOTH_BACKENDS
from tests.services.storage.support import (
    FILES,
    MIB,
    PNG,
    put_file,
    random_bytes,
    stored,
    zip_bytes,
)


async def test_an_upload_answers_with_its_metadata(client):
    account = await register(client)
    data = b"line one\nline two\n"
    response = await put_file(
        client, account, data, filename="notes.txt", labels='{"team": "core", "kind": "notes"}'
    )
    assert response.status_code == 201, response.text
    meta = response.json()["data"]
    assert meta["name"] == "notes.txt"
    assert meta["size"] == len(data)
    assert meta["sha256"] == hashlib.sha256(data).hexdigest()
    assert meta["content_type"] == "text/plain"
    assert meta["declared_content_type"] == "text/plain"
    assert meta["owner_id"] == account.user_id
    assert meta["labels"] == {"kind": "notes", "team": "core"}
    assert meta["content_url"] == f"{FILES}/{meta['id']}/content"
    fetched = await client.get(f"{FILES}/{meta['id']}", headers=account.headers)
    assert fetched.json()["data"] == meta


@BOTH_BACKENDS
async def test_a_downloaded_file_is_byte_identical(client, blobs):
    account = await register(client)
    data = random_bytes(5 * MIB)
    meta = await stored(client, account, data, filename="blob.bin")
    response = await client.get(meta["content_url"], headers=account.headers)
    assert response.status_code == 200
    assert response.content == data
    assert response.headers["content-length"] == str(len(data))
    assert response.headers["etag"] == f'"{hashlib.sha256(data).hexdigest()}"'
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-disposition"].startswith('attachment; filename="blob.bin"')
    assert blobs.keys() == {meta["sha256"]}


@BOTH_BACKENDS
async def test_identical_content_is_stored_once(client, blobs):
    first, second = await register(client), await register(client)
    data = random_bytes(4096)
    a = await stored(client, first, data, filename="a.bin")
    b = await stored(client, first, data, filename="b.bin")
    c = await stored(client, second, data, filename="c.bin")
    assert len({a["id"], b["id"], c["id"]}) == 3
    assert a["sha256"] == b["sha256"] == c["sha256"]
    assert blobs.count() == 1


@BOTH_BACKENDS
async def test_content_goes_when_its_last_file_is_deleted(client, blobs):
    account = await register(client)
    data = random_bytes(1000)
    a = await stored(client, account, data, filename="a.bin")
    b = await stored(client, account, data, filename="b.bin")
    assert (await client.delete(f"{FILES}/{a['id']}", headers=account.headers)).status_code == 204
    assert blobs.count() == 1
    still = await client.get(b["content_url"], headers=account.headers)
    assert still.content == data
    assert (await client.delete(f"{FILES}/{b['id']}", headers=account.headers)).status_code == 204
    assert blobs.count() == 0
    gone = await client.get(f"{FILES}/{b['id']}", headers=account.headers)
    assert_error(gone, 404, "NOT_FOUND")
    again = await client.delete(f"{FILES}/{b['id']}", headers=account.headers)
    assert_error(again, 404, "NOT_FOUND")


@BOTH_BACKENDS
async def test_content_deleted_then_uploaded_again_is_stored_again(client, blobs):
    account = await register(client)
    data = random_bytes(2000)
    first = await stored(client, account, data)
    await client.delete(f"{FILES}/{first['id']}", headers=account.headers)
    assert blobs.count() == 0
    second = await stored(client, account, data)
    assert blobs.count() == 1
    assert (await client.get(second["content_url"], headers=account.headers)).content == data


async def test_head_answers_the_headers_without_the_bytes(client):
    account = await register(client)
    data = random_bytes(3000)
    meta = await stored(client, account, data)
    response = await client.head(meta["content_url"], headers=account.headers)
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-length"] == "3000"
    assert response.headers["etag"] == f'"{meta["sha256"]}"'


async def test_a_matching_if_none_match_is_not_modified(client):
    account = await register(client)
    meta = await stored(client, account, b"cached\n")
    etag = f'"{meta["sha256"]}"'
    response = await client.get(
        meta["content_url"], headers={**account.headers, "If-None-Match": f'"other", {etag}'}
    )
    assert response.status_code == 304
    assert response.content == b""
    other = await client.get(
        meta["content_url"], headers={**account.headers, "If-None-Match": '"other"'}
    )
    assert other.status_code == 200


async def test_an_empty_file_is_stored_and_served(client):
    account = await register(client)
    meta = await stored(client, account, b"", filename="empty")
    assert (meta["size"], meta["sha256"]) == (0, hashlib.sha256(b"").hexdigest())
    response = await client.get(meta["content_url"], headers=account.headers)
    assert (response.status_code, response.content) == (200, b"")


async def test_the_name_field_wins_and_paths_keep_their_last_segment(client):
    account = await register(client)
    renamed = await stored(client, account, b"x", filename="a.txt", name="report.txt")
    assert renamed["name"] == "report.txt"
    cut = await stored(client, account, b"x", filename="C:\\Users\\ada\\secret\\plan.txt")
    assert cut["name"] == "plan.txt"
    unicode = await stored(client, account, b"x", filename="résumé ✓.txt")
    assert unicode["name"] == "résumé ✓.txt"
    response = await client.get(unicode["content_url"], headers=account.headers)
    assert (
        "filename*=UTF-8''r%C3%A9sum%C3%A9%20%E2%9C%93.txt"
        in (response.headers["content-disposition"])
    )


SNIFFED = [
    (PNG, "text/plain", "image/png"),
    (b"\xff\xd8\xff\xe0" + bytes(32), "image/png", "image/jpeg"),
    (b"GIF89a" + bytes(32), "application/octet-stream", "image/gif"),
    (b"%PDF-1.7\n" + bytes(32), "text/html", "application/pdf"),
    (zip_bytes({"a.txt": b"a"}), "application/json", "application/zip"),
    (gzip.compress(b"hello"), "text/plain", "application/gzip"),
    (b'{"a": 1}', "application/json", "application/json"),
    (b"[1, 2, 3]", None, "application/json"),
    (b"plain words", "application/json", "text/plain"),
    (b"a,b\n1,2\n", "text/csv", "text/csv"),
    (b"<html><script>alert(1)</script></html>", "text/html", "text/plain"),
    (b"<svg onload=alert(1)>", "image/svg+xml", "text/plain"),
    (b"\x00\x01\x02binary", "image/png", "application/octet-stream"),
    ("naïve café".encode(), "text/markdown", "text/markdown"),
    ("naïve".encode("latin-1"), "text/plain", "application/octet-stream"),
]
"""(bytes, declared type, stored type): the bytes decide; the declared type only refines text."""


async def test_the_stored_type_comes_from_the_bytes(client):
    account = await register(client)
    for data, declared, expected in SNIFFED:
        response = await client.post(
            FILES,
            headers=account.headers,
            files={"file": ("upload", data, declared)} if declared else {"file": ("upload", data)},
        )
        assert response.status_code == 201, response.text
        meta = response.json()["data"]
        assert meta["content_type"] == expected, (data[:20], declared)
        served = await client.get(meta["content_url"], headers=account.headers)
        assert served.headers["content-type"].split(";")[0] == expected


async def test_text_is_served_as_utf8_in_a_sandbox(client):
    account = await register(client)
    meta = await stored(client, account, "héllo".encode(), content_type="text/plain")
    response = await client.get(meta["content_url"], headers=account.headers)
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert "sandbox" in response.headers["content-security-policy"]


async def test_an_unknown_file_is_not_found(client):
    account = await register(client)
    for path in (f"{FILES}/{uuid.uuid4()}", f"{FILES}/{uuid.uuid4()}/content"):
        assert_error(await client.get(path, headers=account.headers), 404, "NOT_FOUND")
    assert_error(await client.get(f"{FILES}/not-a-uuid", headers=account.headers), 422)


async def test_a_declared_type_that_is_not_a_media_type_is_dropped(client):
    account = await register(client)
    body = (
        b'--b0\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n'
        b"Content-Type: text/plain\x00<script>\r\n\r\nhello\r\n--b0--\r\n"
    )
    response = await client.post(
        FILES,
        content=body,
        headers={**account.headers, "Content-Type": "multipart/form-data; boundary=b0"},
    )
    assert response.status_code == 201, response.text
    meta = response.json()["data"]
    assert (meta["content_type"], meta["declared_content_type"]) == ("text/plain", None)
