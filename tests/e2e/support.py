"""Real devgen processes and an HTTP client that acts as a user, for the end-to-end tests."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.helpers import PASSWORD, eventually, eventually_sync, unique_email
from tests.runtime.processes import free_port, isolated_env

STARTUP_SECONDS = 90.0
TERMINAL = frozenset({"succeeded", "failed", "cancelled"})
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@dataclass
class Process:
    """One ``devgen`` process: how it was started, so it can be started again."""

    args: Sequence[str]
    env: dict[str, str]
    workdir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        """Its base URL."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        """Where its output goes (one file per start)."""
        return self.workdir / f"{'-'.join(self.args)}-{self.port}-{self.starts}.log"

    def start(self) -> Process:
        """Start it and wait until it answers ``/health``."""
        self.starts += 1
        self.workdir.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "devgen.cli", *self.args]
        command += ["--host", "127.0.0.1", "--port", str(self.port)]
        with self.log_path.open("wb") as sink:
            self.process = subprocess.Popen(
                command, env=self.env, cwd=self.workdir, stdout=sink, stderr=subprocess.STDOUT
            )
        process = self.process

        def health() -> int:
            if process.poll() is not None:
                raise RuntimeError(f"{self.args} exited:\n{self.log()}")
            return httpx.get(f"{self.url}/health", timeout=1.0).status_code

        try:
            eventually_sync(
                health,
                until=lambda status: status in {200, 503},
                timeout=STARTUP_SECONDS,
                interval=0.1,
                ignoring=(httpx.HTTPError,),
                what=f"{self.args} answering /health",
            )
        except AssertionError as exc:
            raise RuntimeError(f"{exc}:\n{self.log()}") from None
        return self

    def kill(self) -> None:
        """SIGKILL: no shutdown work at all, as when a machine dies."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        """Stop it gracefully (SIGINT), killing it if it hangs."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def log(self) -> str:
        """What the current start printed."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def all_in_one(workdir: Path, **settings: str) -> Process:
    """``devgen up`` on SQLite under ``workdir/data``; not started yet."""
    env = isolated_env(
        workdir / "data",
        DEVGEN_RATE_LIMIT_ENABLED="false",
        DEVGEN_ORCHESTRATOR_POLL_SECONDS="0.2",
        DEVGEN_EXECUTOR_UID_BASE=sandbox_uid_base(),
        **settings,
    )
    return Process(["up"], env, workdir)


class PathRouter(httpx.AsyncBaseTransport):
    """Sends each request to the service that owns its path (the services run apart)."""

    def __init__(self, routes: dict[str, str]) -> None:
        self.routes = dict(routes)
        self._inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        base = next(url for prefix, url in self.routes.items() if path.startswith(prefix))
        target = httpx.URL(base)
        request.url = request.url.copy_with(
            scheme=target.scheme, host=target.host, port=target.port
        )
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


@dataclass
class User:
    """A registered, signed-in user talking to a platform over HTTP."""

    http: httpx.AsyncClient
    email: str
    token: str
    user_id: str
    tenant_id: str

    @property
    def headers(self) -> dict[str, str]:
        """The Authorization header."""
        return {"Authorization": f"Bearer {self.token}"}

    async def call(self, method: str, path: str, expect: int = 200, **kwargs: Any) -> Any:
        """The ``data`` of an answer that must have status ``expect``."""
        response = await self.http.request(method, path, headers=self.headers, **kwargs)
        assert response.status_code == expect, f"{method} {path}: {response.text[:2000]}"
        return response.json()["data"] if response.content else None

    async def start_run(self, **body: Any) -> dict[str, Any]:
        """Start a run (202)."""
        return await self.call("POST", "/api/v1/runs", expect=202, json=body)  # type: ignore[no-any-return]

    async def run(self, run_id: str) -> dict[str, Any]:
        """The run now."""
        return await self.call("GET", f"/api/v1/runs/{run_id}")  # type: ignore[no-any-return]

    async def finished(self, run_id: str, seconds: float = 300.0) -> dict[str, Any]:
        """The run once it ended; fails after ``seconds``."""
        finished: dict[str, Any] = await eventually(
            lambda: self.run(run_id),
            until=lambda current: current["state"] in TERMINAL,
            timeout=seconds,
            interval=0.25,
            ignoring=(httpx.TransportError, AssertionError),  # a server restarting
            what=f"run {run_id} finished",
        )
        return finished

    async def audit_of(
        self, run_id: str, until: str, seconds: float = 30.0
    ) -> list[dict[str, Any]]:
        """The run's audit records (oldest first) once ``until`` has arrived."""

        async def actions() -> tuple[list[str], list[dict[str, Any]]]:
            records = await self.call(
                "GET",
                "/api/v1/audit/events",
                params={"action": "orchestrator", "resource_id": run_id, "limit": 100},
            )
            return [record["action"] for record in records], records

        _, records = await eventually(
            actions,
            until=lambda seen: until in seen[0],
            timeout=seconds,
            interval=0.25,
            what=f"audit recording {until}",
        )
        return sorted(records, key=lambda record: record["seq"])


async def sign_up(http: httpx.AsyncClient, identity: httpx.AsyncClient | None = None) -> User:
    """Register and sign in a new user (through ``identity`` when it is apart)."""
    auth = identity or http
    email = unique_email("e2e")
    registered = await auth.post(
        "/api/v1/auth/register", json={"email": email, "password": PASSWORD}
    )
    assert registered.status_code == 201, registered.text
    login = await auth.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    data = registered.json()["data"]
    return User(
        http, email, login.json()["data"]["access_token"], data["user"]["id"], data["tenant"]["id"]
    )


def example(name: str) -> str:
    """The text of ``examples/<name>.txt``."""
    return (EXAMPLES / f"{name}.txt").read_text()


def example_names() -> list[str]:
    """Every example requirement in ``examples/``."""
    return sorted(path.stem for path in EXAMPLES.glob("*.txt"))


def env_with(base: Mapping[str, str], **settings: str) -> dict[str, str]:
    """``base`` with ``settings`` on top."""
    return {**base, **settings}


def sandbox_uid_base(offset: int = 0) -> str:
    """A uid range of its own for an executor of this test process (see the executor docs).

    Two executors on one host must not share slot uids; tests of other
    packages may run at the same time on the machine.
    """
    return str(5_000_000 + random.Random(os.getpid()).randrange(10_000) * 100 + offset * 50)
