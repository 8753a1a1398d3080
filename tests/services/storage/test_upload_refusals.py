"""Bad uploads get a clear 4xx in the error envelope, and nothing is stored."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

from devgen.services.storage.settings import StorageSettings
from tests.helpers import assert_error, register
from tests.services.storage.conftest import BOTH_BACKENDS
from tests.services.storage.support import FILES, MIB, put_file, random_bytes


def _staging(settings) -> Path:
    return Path(settings.core.data_dir) / "storage" / "tmp"


async def _assert_nothing_stored(client, account, blobs, settings) -> None:
    assert blobs.count() == 0
    assert list(_staging(settings).iterdir()) == []
    listing = await client.get(FILES, headers=account.headers)
    assert listing.json()["data"] == []


@BOTH_BACKENDS
async def test_a_file_over_the_limit_is_413_and_leaves_nothing(client, blobs, settings):
    account = await register(client)
    response = await put_file(client, account, random_bytes(6 * MIB + 1), filename="big.bin")
    error = assert_error(response, 413, "PAYLOAD_TOO_LARGE")
    assert error["details"]["max_bytes"] == 6 * MIB
    await _assert_nothing_stored(client, account, blobs, settings)


async def test_a_file_at_the_limit_is_accepted(client):
    account = await register(client)
    response = await put_file(client, account, random_bytes(6 * MIB), filename="big.bin")
    assert response.status_code == 201, response.text


async def test_storage_has_its_own_body_limit_above_the_chassis_default(client, blobs, settings):
    account = await register(client)
    limit = StorageSettings().max_request_bytes
    assert limit > 2 * MIB  # the chassis default would refuse every large upload

    async def body() -> AsyncIterator[bytes]:
        yield b"never read"

    response = await client.post(
        FILES,
        headers={
            **account.headers,
            "Content-Type": "multipart/form-data; boundary=x",
            "Content-Length": str(limit + 1),
        },
        content=body(),
    )
    error = assert_error(response, 413, "PAYLOAD_TOO_LARGE")
    assert error["details"]["max_bytes"] == limit
    await _assert_nothing_stored(client, account, blobs, settings)


def _multipart(*parts: tuple[str, str | None, bytes], boundary: str = "b0undary") -> bytes:
    body = b""
    for name, filename, data in parts:
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        body += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode()
        body += data + b"\r\n"
    return body + f"--{boundary}--\r\n".encode()


_FILE = ("file", "a.txt", b"hello")

BAD_BODIES = {
    "no file": (_multipart(("name", None, b"x.txt")), 422, "VALIDATION_ERROR"),
    "file without a file name": (_multipart(("file", None, b"x")), 422, "VALIDATION_ERROR"),
    "an empty file name": (_multipart(("file", "", b"x")), 422, "VALIDATION_ERROR"),
    "two files": (_multipart(_FILE, ("file", "b.txt", b"b")), 422, "VALIDATION_ERROR"),
    "an unknown field": (_multipart(_FILE, ("colour", None, b"red")), 422, "VALIDATION_ERROR"),
    "a repeated field": (
        _multipart(_FILE, ("name", None, b"a"), ("name", None, b"b")),
        422,
        "VALIDATION_ERROR",
    ),
    "a field that is not UTF-8": (_multipart(_FILE, ("name", None, b"\xff")), 422, None),
    "a huge text field": (_multipart(_FILE, ("labels", None, b"x" * 300_000)), 413, None),
    "no closing boundary": (_multipart(_FILE)[:-12], 400, "BAD_REQUEST"),
    "garbage": (b"this is not multipart at all", 400, "BAD_REQUEST"),
    "a part without a name": (
        b'--b0undary\r\nContent-Disposition: form-data; filename="a"\r\n\r\nx\r\n--b0undary--\r\n',
        400,
        "BAD_REQUEST",
    ),
}


async def test_malformed_multipart_bodies_are_refused(client, blobs, settings):
    account = await register(client)
    for case, (body, status, code) in BAD_BODIES.items():
        response = await client.post(
            FILES,
            headers={**account.headers, "Content-Type": "multipart/form-data; boundary=b0undary"},
            content=body,
        )
        assert response.status_code == status, (case, response.text)
        assert_error(response, status, code)
    await _assert_nothing_stored(client, account, blobs, settings)


async def test_a_body_that_is_not_multipart_is_415(client, blobs, settings):
    account = await register(client)
    for headers, kwargs in [
        ({}, {"json": {"file": "hello"}}),
        ({"Content-Type": "multipart/form-data"}, {"content": b"no boundary"}),
    ]:
        response = await client.post(FILES, headers={**account.headers, **headers}, **kwargs)
        assert_error(response, 415, "UNSUPPORTED_MEDIA_TYPE")
    await _assert_nothing_stored(client, account, blobs, settings)


BAD_LABELS = [
    "not json",
    '["a", "b"]',
    '{"team": 1}',
    '{"Team": "core"}',
    '{"-team": "core"}',
    '{"a b": "core"}',
    '{"' + "k" * 64 + '": "v"}',
    '{"team": "' + "v" * 257 + '"}',
    '{"team": "two\\nlines"}',
    '{"team": "a", "team": "b"}',
    "{" + ", ".join(f'"k{i}": "v"' for i in range(9)) + "}",
]


async def test_bad_labels_are_422_and_leave_nothing(client, blobs, settings):
    account = await register(client)
    for labels in BAD_LABELS:
        response = await put_file(client, account, b"data", labels=labels)
        assert response.status_code == 422, labels
        assert assert_error(response, 422, "VALIDATION_ERROR")["details"]["field"] == "labels"
    await _assert_nothing_stored(client, account, blobs, settings)


async def test_bad_names_are_422_and_leave_nothing(client, blobs, settings):
    account = await register(client)
    for name in ["..", "a/", "a\x01b", "x" * 256]:
        response = await put_file(client, account, b"data", filename="ok.txt", name=name)
        assert response.status_code == 422, name
        assert assert_error(response, 422, "VALIDATION_ERROR")["details"]["field"] == "name"
    await _assert_nothing_stored(client, account, blobs, settings)
