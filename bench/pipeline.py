"""Benchmark the main job: requirement to tested service, against running the tests alone.

1. The platform (all-in-one, in this process, SQLite in a temporary directory) is
   started and warmed up with one small run (excluded: a running platform is warm).
2. ``examples/library.txt`` (3 entities) goes through the default workflow with the
   template engine over the API, as a user would: the wall time of each step (from
   the run's record) and in total (from ``POST /runs`` until the run ended, seen on the
   run's event stream as ``devgen generate`` sees it; polling the run would take CPU
   from the run it measures).
3. In the same process, the baseline: the generated project's own test suite run
   directly with this Python (``pytest`` with junit and coverage, as the sandbox runs
   it, and no other pytest plugin), with no platform, no sandbox, no services.

Prints the total, the ratio total / baseline and the platform's overhead in seconds
(total - baseline). Run: ``.venv/bin/python bench/pipeline.py [--rounds N]`` (the
median of N measured runs; default 1; ``--example conference`` runs examples/conference.txt).
The last line is ``pipeline ratio: <number>``.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

import httpx

from devgen.cli.follow import RunFollower
from devgen.cli.runs import Platform
from devgen.cli.streaming import StreamingASGITransport
from devgen.kit.logging import configure_logging
from devgen.kit.settings import CoreSettings, DatabaseSettings, RateLimitSettings, Settings
from devgen.kit.testruns import pytest_command
from devgen.runtime.allinone import build_platform

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
PASSWORD = "correct horse battery staple"
WARM_UP = "A notebook app keeps notes. Each note has a title and a body."
STEPS = ("analyze", "generate", "validate", "test", "repair", "contract", "package")


async def _sign_in(http: httpx.AsyncClient) -> dict[str, str]:
    account = {"email": "bench@devgen.example", "password": PASSWORD}
    await http.post("/api/v1/auth/register", json=account)
    response = await http.post("/api/v1/auth/login", json=account)
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['data']['access_token']}"}


async def _run(
    http: httpx.AsyncClient, headers: dict[str, str], requirement: str
) -> tuple[float, dict]:
    """Seconds from ``POST /runs`` until the run ended, followed as ``devgen generate``
    follows it (its event stream), and the run as it ended."""
    started = time.perf_counter()
    response = await http.post("/api/v1/runs", json={"requirement": requirement}, headers=headers)
    response.raise_for_status()
    token = headers["Authorization"].removeprefix("Bearer ")
    follower = RunFollower(
        Platform(http, "bench", None, token), response.json()["data"]["id"], _ignore
    )
    run = await follower.follow()
    return time.perf_counter() - started, run


async def _ignore(_run: dict[str, Any]) -> None:
    pass


def _baseline(project: bytes) -> float:
    """Seconds to run the project's tests directly: same command, no platform."""
    with tempfile.TemporaryDirectory(prefix="devgen-bench-baseline-") as directory:
        archive = zipfile.ZipFile(io.BytesIO(project))
        archive.extractall(directory)
        command = pytest_command(archive.namelist(), python=sys.executable)
        # Only the plugin the project's tests use: this virtualenv has the whole
        # dev toolbox (hypothesis, schemathesis, xdist, ...), whose loading would
        # double the baseline; the sandbox's python-service environment is lean.
        environment = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
        started = time.perf_counter()
        finished = subprocess.run(
            command, cwd=directory, env=environment, capture_output=True, text=True, check=False
        )
        elapsed = time.perf_counter() - started
    if finished.returncode != 0:
        raise SystemExit(
            f"the generated tests failed when run directly:\n{finished.stdout[-3000:]}"
        )
    return elapsed


async def main() -> None:
    """Measure and print; the last line is the headline ratio."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=1, help="measured runs (median)")
    parser.add_argument("--example", default="library", help="examples/<name>.txt to run")
    args = parser.parse_args()
    configure_logging("WARNING", "console")
    requirement = (EXAMPLES / f"{args.example}.txt").read_text()
    with tempfile.TemporaryDirectory(prefix="devgen-bench-pipeline-") as data_dir:
        os.environ.setdefault("DEVGEN_ORCHESTRATOR_POLL_SECONDS", "0.5")
        settings = Settings(
            core=CoreSettings(env="test", data_dir=Path(data_dir)),
            database=DatabaseSettings(
                database_url=f"sqlite+aiosqlite:///{data_dir}/{{service}}.db"
            ),
            rate_limit=RateLimitSettings(rate_limit_enabled=False),
        )
        app = build_platform(settings)
        booted = time.perf_counter()
        async with app.router.lifespan_context(app):
            print(f"platform started in {time.perf_counter() - booted:.2f} s (excluded)")
            # Streaming, so that the run's events arrive as they happen.
            transport = StreamingASGITransport(app, client=("127.0.0.1", 0))
            async with httpx.AsyncClient(
                transport=transport, base_url="http://bench", timeout=300
            ) as http:
                headers = await _sign_in(http)
                warm, warm_run = await _run(http, headers, WARM_UP)
                print(f"warm-up run (1 entity) {warm_run['state']} in {warm:.2f} s (excluded)")
                totals: list[float] = []
                baselines: list[float] = []
                per_step: dict[str, list[float]] = {step: [] for step in STEPS}
                for _ in range(args.rounds):
                    total, run = await _run(http, headers, requirement)
                    if run["state"] != "succeeded":
                        raise SystemExit(f"the run {run['state']}: {run['error']}")
                    totals.append(total)
                    for step in run["steps"]:
                        per_step[step["step"]].append(step["duration_seconds"] or 0.0)
                    download = await http.get(run["artifact_url"], headers=headers)
                    baselines.append(_baseline(download.content))
    total = statistics.median(totals)
    baseline = statistics.median(baselines)
    tests = run["tests"]
    print(f"{args.example}.txt, template engine, {args.rounds} measured run(s), median:")
    for step in STEPS:
        seconds = statistics.median(per_step[step]) if per_step[step] else 0.0
        print(f"  {step:10s} {seconds:7.2f} s")
    print("  (validate and test run in parallel; repair is skipped by the template engine;")
    print("   contract is schemathesis against the service in the sandbox)")
    print(f"  tests: {tests['passed']} passed, coverage {tests['coverage_percent']}%")
    print(f"total (POST /runs until the run ended)  {total:7.2f} s")
    print(f"baseline (the project's pytest alone)  {baseline:7.2f} s")
    print(f"platform overhead (total - baseline)    {total - baseline:7.2f} s")
    print(f"pipeline ratio: {total / baseline:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
