"""Measure files/s written through storage's HTTP API against plain Python file I/O.

Kept in ``bench/`` (run from the repository root), not in the service: it only speaks
HTTP, so it measures what a caller gets, whichever way the platform runs.
Typical use, in process (see ``docs/services/storage.md``)::

    app = build_platform(settings, services=["identity", "storage"])
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://devgen") as client:
            headers = await sign_up(client)
            result = await compare(client, headers, files, workdir / "plain")
    print(result.summary())
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

FILES_PATH = "/api/v1/files"
ARTIFACTS_PATH = "/api/v1/artifacts"


class BenchmarkError(RuntimeError):
    """The platform refused a request the benchmark needs."""


@dataclass(frozen=True, slots=True)
class WriteRate:
    """How many files (and bytes) were written in how long."""

    files: int
    bytes: int
    seconds: float

    @property
    def files_per_second(self) -> float:
        """Files written per second."""
        return self.files / self.seconds if self.seconds > 0 else float("inf")


@dataclass(frozen=True, slots=True)
class Comparison:
    """Storage's write rate beside plain file I/O of the same bytes."""

    storage: WriteRate
    plain: WriteRate

    @property
    def ratio(self) -> float:
        """How many times more files per second plain file I/O writes than storage."""
        return self.plain.files_per_second / self.storage.files_per_second

    def summary(self) -> str:
        """One line for a benchmark report."""
        return (
            f"{self.storage.files} files, {self.storage.bytes} bytes: "
            f"storage {self.storage.files_per_second:.1f} files/s, "
            f"plain I/O {self.plain.files_per_second:.1f} files/s "
            f"(plain is {self.ratio:.1f}x)"
        )


def _ok(response: httpx.Response, status: int) -> httpx.Response:
    if response.status_code != status:
        raise BenchmarkError(
            f"{response.request.method} {response.request.url.path}: "
            f"{response.status_code} {response.text[:300]}"
        )
    return response


async def sign_up(client: httpx.AsyncClient) -> dict[str, str]:
    """Register a throw-away user through identity's API; their auth headers."""
    email = f"bench-{uuid.uuid4().hex[:12]}@example.com"
    password = f"bench-{uuid.uuid4().hex}"
    credentials = {"email": email, "password": password}
    _ok(await client.post("/api/v1/auth/register", json=credentials), 201)
    tokens = _ok(await client.post("/api/v1/auth/login", json=credentials), 200).json()["data"]
    return {"Authorization": f"Bearer {tokens['access_token']}"}


async def store_files(
    client: httpx.AsyncClient,
    headers: Mapping[str, str],
    files: Mapping[str, bytes],
    *,
    concurrency: int = 1,
) -> WriteRate:
    """Upload every file with ``POST /api/v1/files`` (``concurrency`` at a time)."""
    gate = asyncio.Semaphore(concurrency)

    async def one(name: str, data: bytes) -> None:
        async with gate:
            upload = {"file": (name.rsplit("/", 1)[-1] or "file", data)}
            _ok(await client.post(FILES_PATH, headers=dict(headers), files=upload), 201)

    started = time.perf_counter()
    await asyncio.gather(*(one(name, data) for name, data in files.items()))
    elapsed = time.perf_counter() - started
    return WriteRate(len(files), sum(map(len, files.values())), elapsed)


async def store_artifact(
    client: httpx.AsyncClient, headers: Mapping[str, str], files: Mapping[str, str]
) -> WriteRate:
    """Store a whole project with one ``POST /api/v1/artifacts`` (paths to text)."""
    started = time.perf_counter()
    _ok(await client.post(ARTIFACTS_PATH, headers=dict(headers), json={"files": dict(files)}), 201)
    elapsed = time.perf_counter() - started
    return WriteRate(len(files), sum(len(text.encode()) for text in files.values()), elapsed)


def write_plain(directory: Path, files: Mapping[str, bytes], *, fsync: bool = False) -> WriteRate:
    """Write the same bytes with ``open``/``write``, one file each, under ``directory``.

    Storage answers 201 only once the file is durable (a synced commit;
    above the inline limit also an fsync of the blob and its directory);
    pass ``fsync=True`` to compare like with like.
    """
    started = time.perf_counter()
    for index, data in enumerate(files.values()):
        path = directory / f"{index:06d}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as handle:
            handle.write(data)
            if fsync:
                handle.flush()
                os.fsync(handle.fileno())
    elapsed = time.perf_counter() - started
    return WriteRate(len(files), sum(map(len, files.values())), elapsed)


async def compare(
    client: httpx.AsyncClient,
    headers: Mapping[str, str],
    files: Mapping[str, bytes],
    plain_directory: Path,
    *,
    concurrency: int = 1,
    fsync: bool = False,
) -> Comparison:
    """Store ``files`` through the API, then write them plainly; the two rates.

    Use distinct contents: identical bytes are stored once, which would
    flatter storage.
    """
    stored = await store_files(client, headers, files, concurrency=concurrency)
    plain = await asyncio.to_thread(write_plain, plain_directory, files, fsync=fsync)
    return Comparison(storage=stored, plain=plain)
