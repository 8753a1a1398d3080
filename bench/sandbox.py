"""Benchmark the sandbox against bare subprocesses.

Measures, interleaved in the same run so machine noise hits all legs:

1. latency: p50/p90 wall time of ``print(1)`` through ``Sandbox.run`` (the
   library call), through ``POST /api/v1/execute`` with ``wait=true`` (the
   service: the all-in-one app in process, identity and executor, SQLite),
   and as a bare ``python3 -c 'print(1)'`` subprocess;
2. throughput: executions per second at concurrency = cores, each leg.

With the latency it prints the CPU this process spends per execution in
each leg (all its threads; the children's CPU is not in it), and the
service's figures against the library call's: what the API, the database
writes and the pool add to one sandbox run. On a machine shared with other
work the wall-time ratios move with the load; the CPU figures much less.

Run as root: ``.venv/bin/python bench/sandbox.py [--rounds N]``. The last
line printed is the headline ``sandbox p50 ratio: <number>`` (library call
p50 / bare p50).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import structlog

from devgen.kit.settings import (
    AuthSettings,
    CoreSettings,
    DatabaseSettings,
    RateLimitSettings,
    Settings,
)
from devgen.runtime.allinone import build_platform
from devgen.services.executor.sandbox import (
    Sandbox,
    SandboxConfig,
    SandboxRequest,
    Verdict,
    mounts,
)

PROGRAM = "print(1)"
PYTHON = os.path.join(sys.base_prefix, "bin", "python3")


@dataclass(frozen=True)
class Leg:
    """One way of running ``print(1)``: a name and an async callable doing it once."""

    name: str
    once: Callable[[], Awaitable[None]]


def bare_leg() -> Leg:
    """A plain subprocess, no isolation: the baseline."""

    async def once() -> None:
        proc = await asyncio.create_subprocess_exec(
            PYTHON, "-c", PROGRAM, stdout=asyncio.subprocess.PIPE, env={}
        )
        out, _ = await proc.communicate()
        if proc.returncode != 0 or out != b"1\n":
            raise RuntimeError(f"bare run failed: {proc.returncode} {out!r}")

    return Leg("bare", once)


def sandbox_leg(sandbox: Sandbox) -> Leg:
    """The library call, as the executor service makes it."""
    request = SandboxRequest(command=["python3", "-c", PROGRAM])

    async def once() -> None:
        result = await sandbox.run(request)
        if result.verdict is not Verdict.SUCCEEDED or result.stdout != b"1\n":
            raise RuntimeError(f"sandbox run failed: {result.verdict} {result.detail}")

    return Leg("sandbox", once)


def service_leg(client: httpx.AsyncClient, headers: dict[str, str]) -> Leg:
    """``POST /api/v1/execute`` with ``wait=true``, through the gateway, in process."""
    body = {"files": {}, "command": ["python3", "-c", PROGRAM], "wait": True}

    async def once() -> None:
        response = await client.post("/api/v1/execute", json=body, headers=headers)
        data = response.json()["data"] if response.status_code == 200 else {}
        if data.get("verdict") != "succeeded" or data["result"]["stdout"] != "1\n":
            raise RuntimeError(f"service run failed: {response.status_code} {response.text[:300]}")

    return Leg("service", once)


@contextlib.asynccontextmanager
async def service_client(
    work: Path, cores: int
) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str]]]:
    """The platform (identity + executor) in process, and a signed-in user's headers."""
    # The executor reads its own settings from the environment when it starts.
    os.environ.update(
        {
            "DEVGEN_EXECUTOR_STATE_DIR": str(work / "state"),
            "DEVGEN_EXECUTOR_WORKERS": str(max(cores, 2)),
            "DEVGEN_EXECUTOR_UID_BASE": "61000",
            "DEVGEN_EXECUTOR_QUEUE_SIZE": "1000",
        }
    )
    settings = Settings(
        core=CoreSettings(env="test", data_dir=work / "data"),
        database=DatabaseSettings(database_url=f"sqlite+aiosqlite:///{work}/{{service}}.db"),
        auth=AuthSettings(jwks_min_refetch_seconds=0),
        rate_limit=RateLimitSettings(rate_limit_enabled=False),
    )
    app = build_platform(settings, services=("identity", "executor"))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://bench", timeout=60
        ) as client:
            account = {"email": "bench@example.com", "password": "correct horse battery"}
            registered = await client.post("/api/v1/auth/register", json=account)
            assert registered.status_code == 201, registered.text
            login = await client.post("/api/v1/auth/login", json=account)
            token = login.json()["data"]["access_token"]
            yield client, {"Authorization": f"Bearer {token}"}


def _own_cpu() -> float:
    """CPU seconds of this process so far (every thread, not the children)."""
    spent = os.times()
    return spent.user + spent.system


async def latency(legs: list[Leg], rounds: int) -> tuple[dict[str, list[float]], dict[str, float]]:
    """Run each leg once per round, in turn: the wall times, and own CPU s per execution."""
    times: dict[str, list[float]] = {leg.name: [] for leg in legs}
    cpu = {leg.name: 0.0 for leg in legs}
    for leg in legs:  # warm-up: page cache, staged views
        await leg.once()
    for _ in range(rounds):
        for leg in legs:
            start, spent = time.perf_counter(), _own_cpu()
            await leg.once()
            times[leg.name].append(time.perf_counter() - start)
            cpu[leg.name] += _own_cpu() - spent
    return times, {name: total / rounds for name, total in cpu.items()}


async def throughput(legs: list[Leg], concurrency: int, seconds: float) -> dict[str, float]:
    """Executions per second of each leg with ``concurrency`` workers, legs alternating."""
    counts = {leg.name: 0 for leg in legs}
    spent = {leg.name: 0.0 for leg in legs}
    for _ in range(2):  # two alternating passes per leg evens out drift
        for leg in legs:
            deadline = time.perf_counter() + seconds / 2
            start = time.perf_counter()

            async def worker(leg: Leg = leg, deadline: float = deadline) -> int:
                done = 0
                while time.perf_counter() < deadline:
                    await leg.once()
                    done += 1
                return done

            results = await asyncio.gather(*(worker() for _ in range(concurrency)))
            counts[leg.name] += sum(results)
            spent[leg.name] += time.perf_counter() - start
    return {name: counts[name] / spent[name] for name in counts}


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def main() -> None:
    """Run both measurements and print the ratios, headline last."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--seconds", type=float, default=6.0, help="per leg, throughput")
    args = parser.parse_args()
    # One log line per execution on a console would measure the terminal.
    logging.disable(logging.INFO)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    cores = os.cpu_count() or 1
    work = Path(tempfile.mkdtemp(prefix="devgen-bench-"))
    os.chmod(work, 0o711)
    (work / "library").mkdir(mode=0o711)
    config = SandboxConfig(state_dir=work / "library", slots=max(cores, 2))
    try:
        async with (
            Sandbox(environment="bench", config=config) as sandbox,
            service_client(work, cores) as (client, headers),
        ):
            await sandbox.check()
            legs = [bare_leg(), sandbox_leg(sandbox), service_leg(client, headers)]
            times, cpu = await latency(legs, args.rounds)
            for name, values in times.items():
                print(
                    f"{name:8s} p50 {statistics.median(values) * 1e3:7.2f} ms   "
                    f"p90 {_pct(values, 0.9) * 1e3:7.2f} ms   "
                    f"own CPU {cpu[name] * 1e3:6.2f} ms/execution   (n={len(values)})"
                )
            rates = await throughput(legs, cores, args.seconds)
            for name, rate in rates.items():
                print(f"{name:8s} {rate:7.1f} executions/s at concurrency {cores}")
            host = sandbox.host
            if host is not None:
                print(f"mechanisms: bwrap {host.bwrap_version}, cgroups {host.cgroup_layout}")
    finally:
        # Never delete before unmounting: a runtime view is a bind of a real dir.
        mounts.unmount_all_under(work)
        if not mounts.mounts_under(work):
            shutil.rmtree(work)
    bare = statistics.median(times["bare"])
    library = statistics.median(times["sandbox"])
    service = statistics.median(times["service"])
    print(
        f"service over the library call: p50 +{(service - library) * 1e3:.2f} ms, "
        f"own CPU +{(cpu['service'] - cpu['sandbox']) * 1e3:.2f} ms/execution"
    )
    print(f"service/sandbox p50 ratio: {service / library:.3f}")
    print(f"service/sandbox throughput ratio: {rates['service'] / rates['sandbox']:.3f}")
    print(f"service p50 ratio: {service / bare:.3f}")
    print(f"service throughput ratio (service/bare): {rates['service'] / rates['bare']:.3f}")
    p90 = _pct(times["sandbox"], 0.9) / _pct(times["bare"], 0.9)
    print(f"sandbox p90 ratio: {p90:.3f}")
    print(f"throughput ratio (sandbox/bare): {rates['sandbox'] / rates['bare']:.3f}")
    print(f"sandbox p50 ratio: {library / bare:.3f}")


if __name__ == "__main__":
    asyncio.run(main())
