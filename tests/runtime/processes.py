"""Real ``devgen`` processes for tests: started on a free loopback port, stopped afterwards."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.helpers import TEST_SERVICE_SECRET, eventually_sync

STARTUP_TIMEOUT_SECONDS = 60.0


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def isolated_env(data_dir: Path, **settings: str) -> dict[str, str]:
    """The environment of a test process: this one without DEVGEN_*, plus ``settings``.

    Each process gets its own SQLite files under ``data_dir``.
    """
    env = {key: value for key, value in os.environ.items() if not key.startswith("DEVGEN_")}
    env |= {
        "DEVGEN_ENV": "test",
        "DEVGEN_DATA_DIR": str(data_dir),
        "DEVGEN_DATABASE_URL": f"sqlite+aiosqlite:///{data_dir}/{{service}}.db",
        "DEVGEN_LOG_LEVEL": "WARNING",
        # Processes of one distributed platform share it; the all-in-one would make its own.
        "DEVGEN_SERVICE_SECRET": TEST_SERVICE_SECRET,
    }
    env |= settings
    return env


@dataclass
class DevgenProcess:
    """A running ``devgen`` command and where it listens."""

    url: str
    process: subprocess.Popen[bytes]
    output: Path

    def log(self) -> str:
        """Everything the process printed so far."""
        return self.output.read_text(errors="replace")


def _wait_until_healthy(running: DevgenProcess) -> None:
    def health() -> int:
        if running.process.poll() is not None:
            raise RuntimeError(f"devgen exited with {running.process.returncode}:\n{running.log()}")
        return httpx.get(f"{running.url}/health", timeout=1.0).status_code

    try:
        eventually_sync(
            health,
            until=lambda status: status == 200,
            timeout=STARTUP_TIMEOUT_SECONDS,
            interval=0.1,
            ignoring=(httpx.HTTPError,),
            what="devgen answering /health",
        )
    except AssertionError as exc:
        raise RuntimeError(f"{exc}:\n{running.log()}") from None


@contextmanager
def devgen(
    *args: str, env: Mapping[str, str], workdir: Path, port: int | None = None
) -> Iterator[DevgenProcess]:
    """Run ``devgen <args> --host 127.0.0.1 --port <port>`` until the block ends."""
    port = port or free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    output = workdir / f"devgen-{'-'.join(args)}-{port}.log"
    command = [
        sys.executable,
        "-m",
        "devgen.cli",
        *args,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    with output.open("wb") as sink:
        # cwd is the test's directory so no .env of the developer's is read.
        process = subprocess.Popen(
            command, env=dict(env), cwd=workdir, stdout=sink, stderr=subprocess.STDOUT
        )
    running = DevgenProcess(f"http://127.0.0.1:{port}", process, output)
    try:
        _wait_until_healthy(running)
        yield running
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
