"""``/api/v1/artifacts``: projects stored as deterministic zips with a manifest."""

from __future__ import annotations

import hashlib
import io
import json
import uuid
import zipfile

from tests.helpers import assert_error, register
from tests.services.storage.conftest import BOTH_BACKENDS
from tests.services.storage.support import ARTIFACTS, zip_bytes

PROJECT_FILES = {
    "README.md": "# Library\n",
    "app/main.py": "from fastapi import FastAPI\n\napp = FastAPI()\n",
    "app/__init__.py": "",
    "tests/test_main.py": "def test_ok():\n    assert True\n",
    "openapi.json": '{"openapi": "3.1.0"}',
}
MANIFEST = {
    "name": "library-service",
    "spec": {"service": "library", "entities": [{"name": "book"}]},
    "engine": "template",
    "generator_version": "0.1.0",
    "metadata": {"ruff": "clean", "tests": 12},
}


def _project(**changes: object) -> dict:
    return {**MANIFEST, "files": dict(PROJECT_FILES), **changes}


async def _create(client, account, body: dict | None = None, **kwargs) -> dict:
    response = await client.post(
        ARTIFACTS, json=body or _project(), headers=account.headers, **kwargs
    )
    assert response.status_code == 201, response.text
    data: dict = response.json()["data"]
    return data


@BOTH_BACKENDS
async def test_a_project_is_stored_with_its_manifest(client, blobs):
    account = await register(client)
    run_id = str(uuid.uuid4())
    response = await client.post(ARTIFACTS, json=_project(run_id=run_id), headers=account.headers)
    assert response.status_code == 201, response.text
    created = response.json()["data"]
    assert response.headers["location"] == f"{ARTIFACTS}/{created['id']}"
    assert created["name"] == "library-service"
    assert (created["engine"], created["generator_version"], created["run_id"]) == (
        "template",
        "0.1.0",
        run_id,
    )
    assert created["spec"] == MANIFEST["spec"]
    assert created["metadata"] == MANIFEST["metadata"]
    assert created["owner_id"] == account.user_id
    assert created["file_count"] == len(PROJECT_FILES)
    assert created["total_size"] == sum(len(t.encode()) for t in PROJECT_FILES.values())
    assert [f["path"] for f in created["files"]] == sorted(PROJECT_FILES)
    for entry in created["files"]:
        data = PROJECT_FILES[entry["path"]].encode()
        assert entry["size"] == len(data)
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
    fetched = await client.get(f"{ARTIFACTS}/{created['id']}", headers=account.headers)
    assert fetched.json()["data"] == created
    assert blobs.keys() == {created["archive_sha256"]}


@BOTH_BACKENDS
async def test_the_download_is_the_project_as_a_zip(client):
    account = await register(client)
    created = await _create(client, account)
    response = await client.get(created["download_url"], headers=account.headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    assert 'filename="library-service.zip"' in response.headers["content-disposition"]
    assert hashlib.sha256(response.content).hexdigest() == created["archive_sha256"]
    assert len(response.content) == created["archive_size"]
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert archive.testzip() is None
        assert archive.namelist() == sorted(PROJECT_FILES)
        for name in archive.namelist():
            assert archive.read(name).decode() == PROJECT_FILES[name]
            assert archive.getinfo(name).date_time == (1980, 1, 1, 0, 0, 0)
    ranged = await client.get(
        created["download_url"], headers={**account.headers, "Range": "bytes=0-3"}
    )
    assert (ranged.status_code, ranged.content) == (206, b"PK\x03\x04")


@BOTH_BACKENDS
async def test_one_file_is_read_out_of_the_archive(client):
    account = await register(client)
    big = "".join(f"line {i}: {'x' * (i % 80)}\n" for i in range(20_000))
    created = await _create(client, account, _project(files={**PROJECT_FILES, "data/big.txt": big}))
    base = f"{ARTIFACTS}/{created['id']}/files"
    for path, text in {**PROJECT_FILES, "data/big.txt": big}.items():
        response = await client.get(f"{base}/{path}", headers=account.headers)
        assert response.status_code == 200, path
        assert response.content == text.encode(), path
        assert response.headers["etag"] == f'"{hashlib.sha256(text.encode()).hexdigest()}"'
    typed = await client.get(f"{base}/openapi.json", headers=account.headers)
    assert typed.headers["content-type"] == "application/json; charset=utf-8"
    for missing in ("nope.py", "app", "app/%2e%2e/README.md", "APP/main.py"):
        assert_error(await client.get(f"{base}/{missing}", headers=account.headers), 404)


@BOTH_BACKENDS
async def test_the_same_project_gives_the_same_bytes_stored_once(client, blobs):
    account = await register(client)
    first = await _create(client, account)
    reordered = dict(reversed(list(PROJECT_FILES.items())))
    second = await _create(client, account, _project(files=reordered, name="again"))
    assert first["id"] != second["id"]
    assert first["archive_sha256"] == second["archive_sha256"]
    one = await client.get(first["download_url"], headers=account.headers)
    two = await client.get(second["download_url"], headers=account.headers)
    assert one.content == two.content
    assert blobs.count() == 1
    changed = await _create(client, account, _project(files={**PROJECT_FILES, "README.md": "#"}))
    assert changed["archive_sha256"] != first["archive_sha256"]
    assert blobs.count() == 2


@BOTH_BACKENDS
async def test_deleting_artifacts_removes_the_zip_once_unused(client, blobs):
    account = await register(client)
    first, second = await _create(client, account), await _create(client, account)
    assert (
        await client.delete(f"{ARTIFACTS}/{first['id']}", headers=account.headers)
    ).status_code == 204
    assert blobs.count() == 1
    assert_error(await client.get(f"{ARTIFACTS}/{first['id']}", headers=account.headers), 404)
    assert (
        await client.delete(f"{ARTIFACTS}/{second['id']}", headers=account.headers)
    ).status_code == 204
    assert blobs.count() == 0


async def test_a_zip_upload_is_repacked_into_the_same_artifact(client, blobs):
    account = await register(client)
    from_json = await _create(client, account)
    archive = zip_bytes({p: t.encode() for p, t in PROJECT_FILES.items()})
    response = await client.post(
        ARTIFACTS,
        headers=account.headers,
        files={"archive": ("project.zip", archive, "application/zip")},
        data={"manifest": json.dumps(MANIFEST)},
    )
    assert response.status_code == 201, response.text
    from_zip = response.json()["data"]
    assert from_zip["archive_sha256"] == from_json["archive_sha256"]
    assert from_zip["files"] == from_json["files"]
    assert from_zip["spec"] == MANIFEST["spec"]
    assert blobs.count() == 1


async def test_a_zip_upload_may_leave_out_the_manifest_and_skips_directories(client):
    account = await register(client)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("src/", b"")
        archive.writestr("src/app.py", b"x = 1\n")
    response = await client.post(
        ARTIFACTS,
        headers=account.headers,
        files={"archive": ("p.zip", buffer.getvalue(), "application/zip")},
    )
    assert response.status_code == 201, response.text
    created = response.json()["data"]
    assert created["name"] == "artifact"
    assert [f["path"] for f in created["files"]] == ["src/app.py"]


async def test_a_retry_with_the_same_idempotency_key_returns_the_same_artifact(client, blobs):
    account = await register(client)
    headers = {**account.headers, "Idempotency-Key": "run-42-package"}
    first = await client.post(ARTIFACTS, json=_project(), headers=headers)
    retry = await client.post(ARTIFACTS, json=_project(), headers=headers)
    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.headers["idempotency-replayed"] == "true"
    assert "idempotency-replayed" not in first.headers
    assert retry.json()["data"] == first.json()["data"]
    listing = await client.get(ARTIFACTS, headers=account.headers)
    assert len(listing.json()["data"]) == 1
    other = await client.post(ARTIFACTS, json=_project(name="different"), headers=headers)
    assert_error(other, 409, "CONFLICT")
    # Keys belong to a tenant: another tenant's same key is a new artifact.
    stranger = await register(client)
    theirs = await client.post(
        ARTIFACTS,
        json=_project(),
        headers={**stranger.headers, "Idempotency-Key": "run-42-package"},
    )
    assert theirs.status_code == 201
    assert theirs.json()["data"]["id"] != first.json()["data"]["id"]
    assert blobs.count() == 1


async def test_a_bad_idempotency_key_is_422(client):
    account = await register(client)
    for key in ("has space", "x" * 256):
        response = await client.post(
            ARTIFACTS, json=_project(), headers={**account.headers, "Idempotency-Key": key}
        )
        assert_error(response, 422, "VALIDATION_ERROR")


async def test_lists_are_newest_first_and_filter_by_run(client):
    account = await register(client)
    run = str(uuid.uuid4())
    older = await _create(client, account, _project(run_id=run))
    await _create(client, account, _project(engine="llm"))
    newer = await _create(client, account, _project(run_id=run))
    by_run = await client.get(ARTIFACTS, params={"run_id": run}, headers=account.headers)
    assert [a["id"] for a in by_run.json()["data"]] == [newer["id"], older["id"]]
    assert "files" not in by_run.json()["data"][0]
    by_engine = await client.get(ARTIFACTS, params={"engine": "llm"}, headers=account.headers)
    assert len(by_engine.json()["data"]) == 1
    page = await client.get(ARTIFACTS, params={"limit": 2}, headers=account.headers)
    body = page.json()
    assert len(body["data"]) == 2
    assert body["metadata"]["total"] == 3
    rest = await client.get(
        ARTIFACTS,
        params={"limit": 2, "cursor": body["metadata"]["next_cursor"]},
        headers=account.headers,
    )
    assert [a["id"] for a in rest.json()["data"]] == [older["id"]]
    assert rest.json()["metadata"]["next_cursor"] is None
