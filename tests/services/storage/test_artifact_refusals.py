"""Bad projects and hostile archives: a clear 4xx, and nothing stored."""

from __future__ import annotations

import io
import json
import random
import stat
import struct
import warnings
import zipfile
from pathlib import Path

from tests.helpers import assert_error, register
from tests.services.storage.support import ARTIFACTS, MIB, random_bytes, zip_bytes


async def _assert_nothing_stored(client, account, blobs, settings) -> None:
    assert blobs.count() == 0
    assert list((Path(settings.core.data_dir) / "storage" / "tmp").iterdir()) == []
    listing = await client.get(ARTIFACTS, headers=account.headers)
    assert listing.json()["data"] == []


BAD_PATHS = {
    "absolute": {"/etc/passwd": "x"},
    "parent": {"../escape.py": "x"},
    "parent inside": {"app/../../escape.py": "x"},
    "backslash": {"app\\main.py": "x"},
    "drive letter": {"C:/boot.ini": "x"},
    "empty segment": {"app//main.py": "x"},
    "dot segment": {"./main.py": "x"},
    "directory": {"app/": "x"},
    "empty": {"": "x"},
    "control character": {"a\x00b.py": "x"},
    "case clash": {"README.md": "a", "readme.md": "b"},
    "file and directory": {"app": "a", "app/main.py": "b"},
    "long segment": {"a" * 256: "x"},
    "long path": {"/".join(["abcdefghi"] * 103): "x"},
}


async def test_unsafe_paths_are_422_and_leave_nothing(client, blobs, settings):
    account = await register(client)
    for case, files in BAD_PATHS.items():
        response = await client.post(ARTIFACTS, json={"files": files}, headers=account.headers)
        assert response.status_code == 422, case
        error = assert_error(response, 422, "VALIDATION_ERROR")
        assert error["details"]["errors"][0]["location"] == "body.files", case
    await _assert_nothing_stored(client, account, blobs, settings)


BAD_BODIES = {
    "duplicate keys": b'{"files": {"a.py": "1", "a.py": "2"}}',
    "not json": b'{"files": ',
    "no files": b'{"name": "x"}',
    "empty files": b'{"files": {}}',
    "unknown field": b'{"files": {"a.py": ""}, "colour": "red"}',
    "bad engine": b'{"files": {"a.py": ""}, "engine": "no spaces"}',
    "bad run id": b'{"files": {"a.py": ""}, "run_id": "run-1"}',
    "huge metadata": json.dumps({"files": {"a.py": ""}, "metadata": {"x": "y" * 70_000}}).encode(),
    "files not text": b'{"files": {"a.py": 42}}',
}


async def test_invalid_json_projects_are_422(client, blobs, settings):
    account = await register(client)
    for case, body in BAD_BODIES.items():
        response = await client.post(
            ARTIFACTS,
            content=body,
            headers={**account.headers, "Content-Type": "application/json"},
        )
        assert response.status_code == 422, case
        assert_error(response, 422, "VALIDATION_ERROR")
    await _assert_nothing_stored(client, account, blobs, settings)


async def test_too_many_files_or_bytes_are_413(client, blobs, settings):
    account = await register(client)
    many = {f"f{i}.txt": "x" for i in range(51)}
    too_many = await client.post(ARTIFACTS, json={"files": many}, headers=account.headers)
    assert assert_error(too_many, 413)["details"]["reason"] == "too_many_files"
    big = {"a.txt": "x" * MIB, "b.txt": "y" * (MIB + 1)}
    too_big = await client.post(ARTIFACTS, json={"files": big}, headers=account.headers)
    assert assert_error(too_big, 413)["details"]["reason"] == "too_large"
    declared = await client.post(
        ARTIFACTS,
        content=b"{}",
        headers={
            **account.headers,
            "Content-Type": "application/json",
            "Content-Length": str(6 * MIB),
        },
    )
    assert_error(declared, 413, "PAYLOAD_TOO_LARGE")
    await _assert_nothing_stored(client, account, blobs, settings)


async def test_other_media_types_are_415(client):
    account = await register(client)
    response = await client.post(
        ARTIFACTS, content=b"a.py", headers={**account.headers, "Content-Type": "text/plain"}
    )
    assert_error(response, 415, "UNSUPPORTED_MEDIA_TYPE")


def _zip_with(*infos: tuple[zipfile.ZipInfo | str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate names we want
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for info, data in infos:
                archive.writestr(info, data)
    return buffer.getvalue()


def _symlink(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.create_system = 3
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


def _understated(real: bytes, declared: int) -> bytes:
    """A zip whose directory claims the entry is ``declared`` bytes when it inflates to more."""
    archive = bytearray(_zip_with(("data.txt", real)))
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = archive.find(signature)
        archive[at + offset : at + offset + 4] = struct.pack("<I", declared)
    return bytes(archive)


def _encrypted() -> bytes:
    archive = bytearray(_zip_with(("secret.txt", b"x")))
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = archive.find(signature)
        archive[at + offset] |= 0x01
    return bytes(archive)


def _prose(size: int, seed: int) -> bytes:
    """Text that compresses a few times over: enough to pass the ratio check, not the size cap."""
    rng = random.Random(seed)
    words = [f"word{n}" for n in range(64)]
    text = " ".join(rng.choice(words) for _ in range(size // 5))
    return text.encode()[:size]


BAD_ARCHIVES = {
    "zip slip": (zip_bytes({"../../etc/cron.d/evil": b"x"}), 422, "unsafe_path"),
    "absolute path": (zip_bytes({"/etc/passwd": b"x"}), 422, "unsafe_path"),
    "windows traversal": (zip_bytes({"..\\..\\evil.bat": b"x"}), 422, "unsafe_path"),
    "symlink": (_zip_with((_symlink("link"), b"/etc/passwd")), 422, "special_file"),
    "duplicate entries": (_zip_with(("a.py", b"1"), ("a.py", b"2")), 422, "unsafe_path"),
    "zip bomb": (zip_bytes({"zeros.bin": bytes(MIB)}), 422, "zip_bomb"),
    "understated sizes": (_understated(b"A" * 50_000, 100), 422, "bad_zip"),
    "encrypted": (_encrypted(), 422, "encrypted"),
    "not a zip": (random_bytes(2000), 422, "bad_zip"),
    "empty": (zip_bytes({}), 422, "empty"),
    "too many entries": (zip_bytes({f"{i}.txt": b"x" for i in range(51)}), 413, "too_many_files"),
    "expands too far": (
        zip_bytes({f"{i}.txt": _prose(200_000, seed=i) for i in range(11)}),
        413,
        "too_large",
    ),
}


async def test_hostile_archives_are_refused_and_leave_nothing(client, blobs, settings):
    account = await register(client)
    for case, (archive, status, reason) in BAD_ARCHIVES.items():
        response = await client.post(
            ARTIFACTS,
            headers=account.headers,
            files={"archive": ("project.zip", archive, "application/zip")},
        )
        assert response.status_code == status, (case, response.text)
        assert assert_error(response, status)["details"]["reason"] == reason, case
    await _assert_nothing_stored(client, account, blobs, settings)


async def test_an_archive_over_the_upload_limit_is_413(client, blobs, settings):
    account = await register(client)
    response = await client.post(
        ARTIFACTS,
        headers=account.headers,
        files={"archive": ("p.zip", random_bytes(MIB + 1), "application/zip")},
    )
    assert_error(response, 413, "PAYLOAD_TOO_LARGE")
    await _assert_nothing_stored(client, account, blobs, settings)


async def test_a_bad_manifest_field_is_422(client, blobs, settings):
    account = await register(client)
    for manifest, location in [
        ("not json", None),
        ('{"engine": "bad engine"}', "body.manifest.engine"),
        ('["a"]', "body.manifest"),
    ]:
        response = await client.post(
            ARTIFACTS,
            headers=account.headers,
            files={"archive": ("p.zip", zip_bytes({"a.py": b"x"}), "application/zip")},
            data={"manifest": manifest},
        )
        error = assert_error(response, 422, "VALIDATION_ERROR")
        if location:
            assert error["details"]["errors"][0]["location"] == location
    await _assert_nothing_stored(client, account, blobs, settings)
