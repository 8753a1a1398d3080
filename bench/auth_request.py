"""Benchmark: an authenticated request through the platform vs a bare FastAPI route.

One uvicorn server (one process, like ``devgen up``) serves both:

- ``GET /api/v1/auth/me`` through the all-in-one app: gateway (request id,
  rate limit, dispatch), identity (token check, the revocation check it
  remembers per token until an event revokes it, the success envelope);
- ``GET /bare/me``: a FastAPI app with no middleware and no auth, returning
  the same JSON.

A separate process generates the load (a small HTTP/1.1 keep-alive client on
raw asyncio streams, much cheaper per request than the server's work, so it
is not the bottleneck). Same client, same concurrency, interleaved rounds
(the order alternates) so machine noise hits both sides alike.

Run: ``.venv/bin/python bench/auth_request.py [--rounds 6 --requests 3000
--concurrency 32]``. The last line printed is ``auth request ratio: <number>``
(requests/s of the authenticated route over the bare one; the goal is >= 0.7).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

AUTH_PATH = "/api/v1/auth/me"
BARE_PATH = "/bare/me"
EMAIL = "bench@example.com"
PASSWORD = "correct horse battery staple"
_SETUP_FILE = "bench-setup.json"


# --- the server -------------------------------------------------------------------------------


def _bench_settings(data_dir: Path) -> Any:
    """The platform's defaults, with the data in ``data_dir`` and limits no run can reach.

    The limiter still counts every request (its cost is part of the
    measure); it just never refuses one.
    """
    from devgen.kit.settings import CoreSettings, RateLimitSettings, Settings

    return Settings(
        core=CoreSettings(data_dir=data_dir),
        rate_limit=RateLimitSettings(
            rate_limit_per_token="10000000/minute",
            rate_limit_per_address="10000000/minute",
            rate_limit_auth="10000000/minute",
        ),
    )


async def _sign_up(platform: ASGIApp) -> dict[str, Any]:
    """Register the bench user in process; returns its token and ``/auth/me`` body."""
    transport = httpx.ASGITransport(app=platform, client=("127.0.0.1", 1))
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        account = {"email": EMAIL, "password": PASSWORD}
        (await client.post("/api/v1/auth/register", json=account)).raise_for_status()
        login = await client.post("/api/v1/auth/login", json=account)
        login.raise_for_status()
        token = login.json()["data"]["access_token"]
        me = await client.get(AUTH_PATH, headers={"Authorization": f"Bearer {token}"})
        me.raise_for_status()
        return {"token": token, "me": me.json()}


def _server_app(data_dir: Path) -> ASGIApp:
    """The platform and the bare app behind one path switch (a string comparison)."""
    from devgen.runtime.allinone import build_platform

    platform = build_platform(_bench_settings(data_dir))
    bare = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    body: dict[str, Any] = {}

    @bare.get(BARE_PATH)
    async def bare_me() -> dict[str, Any]:
        """The same JSON as ``/api/v1/auth/me``, with no auth and no middleware."""
        return body

    inner_lifespan = platform.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with inner_lifespan(app):
            setup = await _sign_up(platform)
            body.update(setup["me"])
            (data_dir / _SETUP_FILE).write_text(json.dumps(setup))
            yield

    platform.router.lifespan_context = lifespan

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == BARE_PATH:
            await bare(scope, receive, send)
        else:
            await platform(scope, receive, send)

    return app


def serve(port: int, data_dir: Path) -> None:
    """Run the bench server like ``devgen up`` runs the platform."""
    from devgen.kit.settings import CoreSettings
    from devgen.runtime.server import configure_server_logging, run_server

    configure_server_logging(CoreSettings())
    run_server(_server_app(data_dir), host="127.0.0.1", port=port, announce=lambda _: None)


# --- the load generator -----------------------------------------------------------------------


async def _connection(
    host: str, port: int, request: bytes, count: int, failures: list[str]
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        for _ in range(count):
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = head[9:12]
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            await reader.readexactly(length)
            if status != b"200":
                failures.append(status.decode())
    finally:
        writer.close()


async def _load(port: int, path: str, token: str, requests: int, concurrency: int) -> dict:
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer {token}\r\nAccept: application/json\r\n\r\n"
    ).encode()
    failures: list[str] = []
    share, extra = divmod(requests, concurrency)
    counts = [share + (1 if i < extra else 0) for i in range(concurrency)]
    started, cpu_started = time.perf_counter(), time.process_time()
    await asyncio.gather(
        *(_connection("127.0.0.1", port, request, n, failures) for n in counts if n)
    )
    elapsed = time.perf_counter() - started
    # How busy the load generator itself was: near 1.0 would mean it, not the
    # server, set the pace.
    busy = (time.process_time() - cpu_started) / elapsed
    return {"requests": requests, "seconds": elapsed, "client_busy": busy, "failures": failures[:5]}


def load(port: int, path: str, token: str, requests: int, concurrency: int) -> None:
    """Send ``requests`` GETs over ``concurrency`` keep-alive connections; print JSON."""
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover - uvicorn[standard] brings it
        pass
    print(json.dumps(asyncio.run(_load(port, path, token, requests, concurrency))))


# --- the driver -------------------------------------------------------------------------------


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_setup(server: subprocess.Popen[bytes], data_dir: Path, log: Path) -> dict:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"the bench server exited with {server.returncode}:\n{log.read_text()}")
        if (data_dir / _SETUP_FILE).exists():
            return dict(json.loads((data_dir / _SETUP_FILE).read_text()))
        time.sleep(0.1)
    sys.exit(f"the bench server did not start:\n{log.read_text()}")


def _run_load(
    port: int, path: str, token: str, requests: int, concurrency: int
) -> tuple[float, float]:
    command = [
        sys.executable,
        __file__,
        "load",
        f"--port={port}",
        f"--path={path}",
        f"--token={token}",
        f"--requests={requests}",
        f"--concurrency={concurrency}",
    ]
    result = json.loads(subprocess.run(command, check=True, capture_output=True).stdout)
    if result["failures"]:
        sys.exit(f"{path} answered with errors, e.g. {result['failures']}")
    return float(result["requests"] / result["seconds"]), float(result["client_busy"])


def main(rounds: int, requests: int, concurrency: int) -> None:
    """Start the server, load both routes in interleaved rounds and print the ratio."""
    with tempfile.TemporaryDirectory(prefix="devgen-bench-") as scratch:
        data_dir = Path(scratch) / "data"
        data_dir.mkdir()
        port = _free_port()
        log = Path(scratch) / "server.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("DEVGEN_")}
        with log.open("wb") as sink:
            server = subprocess.Popen(
                [sys.executable, __file__, "serve", f"--port={port}", f"--data-dir={data_dir}"],
                env=env,
                cwd=scratch,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        try:
            setup = _wait_for_setup(server, data_dir, log)
            token = setup["token"]
            check = httpx.get(f"http://127.0.0.1:{port}{BARE_PATH}").json()
            assert check == setup["me"], "the bare route must return the same JSON"
            routes = {"auth": AUTH_PATH, "bare": BARE_PATH}
            for path in routes.values():  # warm up: caches, pools, first-call costs
                _run_load(port, path, token, max(requests // 5, concurrency), concurrency)
            rates: dict[str, list[float]] = {"auth": [], "bare": []}
            print(f"{rounds} rounds x {requests} requests, {concurrency} connections")
            for round_number in range(rounds):
                order = ["auth", "bare"] if round_number % 2 == 0 else ["bare", "auth"]
                for name in order:
                    rate, busy = _run_load(port, routes[name], token, requests, concurrency)
                    rates[name].append(rate)
                    print(
                        f"  round {round_number + 1}  {name:<4}  {rate:9.0f} requests/s"
                        f"   (load generator {busy:4.0%} busy)"
                    )
        finally:
            server.terminate()
            server.wait(timeout=30)
    auth = statistics.median(rates["auth"])
    bare = statistics.median(rates["bare"])
    print(f"GET {AUTH_PATH} (authenticated, all-in-one): {auth:.0f} requests/s (median)")
    print(f"GET {BARE_PATH} (bare FastAPI, no auth):     {bare:.0f} requests/s (median)")
    print(f"auth request ratio: {auth / bare:.3f}")


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command")
    serve_parser = commands.add_parser("serve", help="(internal) run the bench server")
    serve_parser.add_argument("--port", type=int, required=True)
    serve_parser.add_argument("--data-dir", type=Path, required=True)
    load_parser = commands.add_parser("load", help="(internal) generate load on one route")
    load_parser.add_argument("--port", type=int, required=True)
    load_parser.add_argument("--path", required=True)
    load_parser.add_argument("--token", required=True)
    load_parser.add_argument("--requests", type=int, required=True)
    load_parser.add_argument("--concurrency", type=int, required=True)
    parser.add_argument("--rounds", type=int, default=6, help="rounds per route (default 6)")
    parser.add_argument("--requests", type=int, default=3000, help="requests per round")
    parser.add_argument("--concurrency", type=int, default=32, help="open connections")
    return parser.parse_args()


if __name__ == "__main__":
    arguments = _arguments()
    if arguments.command == "serve":
        serve(arguments.port, arguments.data_dir)
    elif arguments.command == "load":
        load(
            arguments.port,
            arguments.path,
            arguments.token,
            arguments.requests,
            arguments.concurrency,
        )
    else:
        main(arguments.rounds, arguments.requests, arguments.concurrency)
