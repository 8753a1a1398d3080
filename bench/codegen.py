"""Benchmark code generation, and storage's write rate against plain file I/O.

1. analyse + generate: the requirement analyst and the template engine on a 3-entity
   requirement (``examples/library.txt``) and a 10-entity one (``examples/conference.txt``),
   called as libraries and through the codegen API (in process, with a signed-in user);
2. storage: the files of the 10-entity project written through storage's
   ``POST /api/v1/files`` (multipart, in process through the all-in-one platform) against
   the same bytes written with plain Python file I/O (open, write, ``fsync``, close: the
   baseline, since a 201 from storage means the bytes are on disk too), interleaved round
   by round so machine noise hits both sides; plain writes without ``fsync`` are shown for
   context, not used in the ratio. Every round's files carry the round number, so storage
   cannot answer from content it already holds.

Run: ``.venv/bin/python bench/codegen.py [--rounds N]``. The last line printed is the
headline ``storage write ratio: <number>`` (storage files/s ÷ fsync'd plain files/s; ``nan`` when
the storage service is not available, said so on the line before).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import structlog

from devgen.kit.logging import configure_logging
from devgen.kit.settings import CoreSettings, DatabaseSettings, RateLimitSettings, Settings
from devgen.runtime.allinone import build_platform
from devgen.runtime.registry import available_services
from devgen.services.codegen.analyst import analyze
from devgen.services.codegen.engines import generate

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
PASSWORD = "correct horse battery staple"
REQUIREMENTS = {"3 entities (library)": "library.txt", "10 entities (conference)": "conference.txt"}


def _median_ms(samples: list[float]) -> str:
    return f"{statistics.median(samples) * 1000:8.1f} ms"


def _timed(function: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = function()
    return time.perf_counter() - started, result


def bench_libraries(rounds: int) -> dict[str, dict[str, str]]:
    """Analyse and generate each requirement ``rounds`` times; print medians."""
    projects: dict[str, dict[str, str]] = {}
    print("analyse + generate (library calls, median of", rounds, "rounds)")
    for label, filename in REQUIREMENTS.items():
        text = (EXAMPLES / filename).read_text(encoding="utf-8")
        analysing, generating = [], []
        for _ in range(rounds):
            seconds, result = _timed(lambda text=text: analyze(text))
            analysing.append(seconds)
            seconds, project = _timed(lambda spec=result.spec: generate(spec))
            generating.append(seconds)
        total = [a + g for a, g in zip(analysing, generating, strict=True)]
        size = sum(len(c.encode()) for c in project.files.values())
        print(
            f"  {label:26s} analyse {_median_ms(analysing)}  generate {_median_ms(generating)}"
            f"  total {_median_ms(total)}  ({len(project.files)} files, {size // 1024} KiB)"
        )
        projects[label] = project.files
    return projects


async def _sign_in(client: httpx.AsyncClient) -> dict[str, str]:
    email = f"bench-{os.getpid()}-{time.time_ns()}@example.com"
    registered = await client.post(
        "/api/v1/auth/register", json={"email": email, "password": PASSWORD}
    )
    registered.raise_for_status()
    login = await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    login.raise_for_status()
    return {"Authorization": f"Bearer {login.json()['data']['access_token']}"}


def _settings(data_dir: Path) -> Settings:
    return Settings(
        core=CoreSettings(env="test", data_dir=data_dir),
        database=DatabaseSettings(database_url=f"sqlite+aiosqlite:///{data_dir}/{{service}}.db"),
        rate_limit=RateLimitSettings(rate_limit_enabled=False),
    )


async def bench_api(client: httpx.AsyncClient, headers: dict[str, str], rounds: int) -> None:
    """``POST /analyze`` then ``POST /generate`` through the platform; print medians."""
    print("analyse + generate (codegen API in process, median of", rounds, "rounds)")
    for label, filename in REQUIREMENTS.items():
        text = (EXAMPLES / filename).read_text(encoding="utf-8")
        totals = []
        for _ in range(rounds):
            started = time.perf_counter()
            analysed = await client.post(
                "/api/v1/codegen/analyze", json={"requirement": text}, headers=headers
            )
            analysed.raise_for_status()
            generated = await client.post(
                "/api/v1/codegen/generate",
                json={"spec": analysed.json()["data"]["spec"]},
                headers=headers,
            )
            generated.raise_for_status()
            totals.append(time.perf_counter() - started)
        print(f"  {label:26s} analyse + generate {_median_ms(totals)}")


def _round_files(files: dict[str, str], number: int) -> list[tuple[str, bytes]]:
    return [(path, f"{content}\n# round {number}\n".encode()) for path, content in files.items()]


def _write_plain(root: Path, files: list[tuple[str, bytes]], *, sync: bool = False) -> float:
    started = time.perf_counter()
    for index, (path, content) in enumerate(files):
        # One flat directory, like storage's blobs: the comparison is about writing bytes.
        with open(root / f"{index}-{Path(path).name}", "wb") as handle:
            handle.write(content)
            if sync:
                os.fsync(handle.fileno())
    return time.perf_counter() - started


async def _write_storage(
    client: httpx.AsyncClient, headers: dict[str, str], files: list[tuple[str, bytes]]
) -> float:
    started = time.perf_counter()
    for path, content in files:
        response = await client.post(
            "/api/v1/files",
            files={"file": (Path(path).name, content, "text/plain")},
            headers=headers,
        )
        if response.status_code != 201:
            raise RuntimeError(f"storage answered {response.status_code}: {response.text[:200]}")
    return time.perf_counter() - started


async def bench_storage(
    client: httpx.AsyncClient, headers: dict[str, str], files: dict[str, str], rounds: int
) -> float:
    """Files/s through storage and with plain file I/O; returns the ratio against fsync'd writes."""
    plain_seconds, synced_seconds, storage_seconds, count = 0.0, 0.0, 0.0, 0
    with tempfile.TemporaryDirectory(prefix="bench-plain-") as tmp:
        for number in range(rounds):
            batch = _round_files(files, number)
            for name in ("plain", "synced"):
                (Path(tmp) / f"{name}-{number}").mkdir()
            plain_seconds += _write_plain(Path(tmp) / f"plain-{number}", batch)
            synced_seconds += _write_plain(Path(tmp) / f"synced-{number}", batch, sync=True)
            storage_seconds += await _write_storage(client, headers, batch)
            count += len(batch)
    synced_rate, storage_rate = count / synced_seconds, count / storage_seconds
    print(f"storage writes ({count} files, {rounds} rounds of the 10-entity project)")
    print(f"  plain file I/O          {count / plain_seconds:10.1f} files/s  (context only)")
    print(f"  plain file I/O + fsync  {synced_rate:10.1f} files/s  (baseline)")
    print(f"  storage POST /files     {storage_rate:10.1f} files/s")
    return storage_rate / synced_rate


async def main() -> None:
    """Run every leg and print the headline last."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    configure_logging("WARNING", "console")
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))

    projects = bench_libraries(args.rounds)
    ratio = float("nan")
    available = available_services()
    with tempfile.TemporaryDirectory(prefix="bench-codegen-") as tmp:
        # Only what the legs use: identity for the token, codegen, storage.
        wanted = [name for name in ("identity", "codegen", "storage") if name in available]
        platform = build_platform(_settings(Path(tmp)), services=wanted, migrate_on_startup=True)
        async with platform.router.lifespan_context(platform):
            transport = httpx.ASGITransport(app=platform, client=("127.0.0.1", 50000))
            async with httpx.AsyncClient(
                transport=transport, base_url="http://bench", timeout=120
            ) as client:
                headers = await _sign_in(client)
                await bench_api(client, headers, args.rounds)
                if "storage" not in platform.state.upstream_apps:
                    print("storage unavailable: the storage service is not installed")
                else:
                    try:
                        ratio = await bench_storage(
                            client, headers, projects["10 entities (conference)"], args.rounds
                        )
                    except (RuntimeError, httpx.HTTPError) as exc:
                        print(f"storage unavailable: {exc}")
    print(f"storage write ratio: {ratio:.4f}")


if __name__ == "__main__":
    asyncio.run(main())
