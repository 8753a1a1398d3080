"""The OpenAPI document of a rendered project, from a process whose libraries are loaded.

Describing the rendered app means importing it, and importing it is mostly importing
FastAPI, SQLAlchemy, Alembic, pydantic-settings...: about a second per generation when a
fresh interpreter does it every time. Here one server process per caller process
(``engines/_openapi_server.py``, started on first use) imports those libraries once
(:data:`PRELOAD`); each export is a fork of it that imports only the rendered ``app`` from
the project's directory, sends the document back and exits. The rendered package is named
``app``, like many a caller's own, so it is never imported in the caller's interpreter, and
a fresh fork per export means one project's ``app`` never meets another's.

Why not :mod:`multiprocessing`'s forkserver: every process it starts first re-runs the
caller's main script (its rule for start methods other than fork), which runs a script
without a ``__main__`` guard twice and, for a script that imports the platform, costs more
than the libraries do.

The server runs the interpreter in isolated mode with the environment the plain subprocess
gets, reads requests on a pipe from this process and so ends when this process does; it is
also stopped at exit (:func:`shutdown`). If it cannot start, :func:`export` raises
:class:`Unavailable` from then on, and when an export fails in it, once; the caller then
falls back to a plain subprocess, whose result is the reference: both run the same steps,
so they give the same bytes.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import selectors
import signal
import subprocess  # nosec B404 - runs this package's own script
import sys
import threading
import time
from pathlib import Path

import structlog

log = structlog.get_logger(__name__)

# What a rendered project imports (the deepest modules it names), loaded once in the server.
# A test checks that an export imports nothing but ``app`` (tests/services/codegen/
# test_openapi_export.py): a template that starts using a new library adds it here.
PRELOAD = (
    "alembic",
    "alembic.command",
    "alembic.config",
    "argon2",
    "argon2.exceptions",
    "email_validator",
    "fastapi",
    "fastapi.middleware.cors",
    "fastapi.openapi.utils",
    "fastapi.security",
    "jwt",
    "pkgutil",
    "pydantic",
    "pydantic.json_schema",
    "pydantic.v1",
    "pydantic_settings",
    "python_multipart",
    "sqlalchemy",
    "sqlalchemy.exc",
    "sqlalchemy.orm",
    "starlette.routing",
    "starlette.types",
)

# The same variables the plain subprocess leaves out of its environment: the caller's
# database and token must not reach the rendered app's settings.
DROPPED_ENVIRONMENT = ("PYTHON", "DATABASE_URL", "API_TOKEN")

_SERVER_SCRIPT = Path(__file__).with_name("_openapi_server.py")
_START_TIMEOUT_SECONDS = 120


class Unavailable(RuntimeError):
    """The preloaded process could not give the document; the message says why."""


class _Server:
    """One running server: its process and what it has sent that was not read yet."""

    def __init__(self, script: Path) -> None:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(DROPPED_ENVIRONMENT)
        }
        self.process = subprocess.Popen(  # noqa: S603  # nosec B603 - fixed argv, no shell
            [sys.executable, "-I", str(script), *PRELOAD],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            # Its own process group, so that stopping it also stops a child it forked.
            start_new_session=True,
        )
        self._pending = b""
        try:
            if self._read_line(time.monotonic() + _START_TIMEOUT_SECONDS) != b"ready":
                raise OSError("the server did not say ready")
        except BaseException:
            self.kill()
            raise

    def export(self, root: Path, timeout: float) -> bytes:
        assert self.process.stdin is not None
        request = json.dumps({"root": str(root), "timeout": max(1, int(timeout))})
        self.process.stdin.write(request.encode() + b"\n")
        self.process.stdin.flush()
        # The child stops itself at ``timeout``; the margin is for a server that hangs.
        return self._read_line(time.monotonic() + timeout + 10)

    def _read_line(self, deadline: float) -> bytes:
        assert self.process.stdout is not None
        fd = self.process.stdout.fileno()
        # A selector, not select(): a service's descriptors may number more than 1024.
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while b"\n" not in self._pending:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not selector.select(remaining):
                    raise TimeoutError("the server did not answer in time")
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    raise EOFError(f"the server ended ({self.process.poll()})")
                self._pending += chunk
        line, _, self._pending = self._pending.partition(b"\n")
        return line

    def stop(self) -> None:
        assert self.process.stdin is not None
        try:
            self.process.stdin.close()  # the server ends at the end of its input
            self.process.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            pass
        self.kill()  # a no-op for the group once the server has ended; closes the pipes

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        for pipe in (self.process.stdin, self.process.stdout):
            # A write the server never read fails to flush: it is gone anyway.
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()


_lock = threading.Lock()
_server: _Server | None = None
_broken: str | None = None
_stop_registered = False


def export(root: Path, *, timeout: float) -> tuple[str, list[str]]:
    """The OpenAPI document (JSON text) of the rendered project in ``root``.

    Also returns the modules other than ``app`` the export had to import, which is empty
    while :data:`PRELOAD` covers what the project uses. Exports run one at a time (each is
    short; the caller's threads wait for the lock). Raises :class:`Unavailable` when the
    server cannot start (then it is not tried again until :func:`shutdown`), or the export
    fails or takes longer than ``timeout`` seconds (then the next export starts a new one).
    """
    global _server
    with _lock:
        server = _running()
        try:
            line = server.export(root, timeout)
            reply = json.loads(line)
        except (OSError, EOFError, TimeoutError, ValueError) as exc:
            server.kill()
            _server = None
            raise Unavailable(f"the export server failed: {exc!r}") from exc
    if not reply["ok"]:
        raise Unavailable(f"the export failed in the preloaded process:\n{reply['error']}")
    return reply["document"], reply["imported"]


def warm_up() -> None:
    """Start the server now (codegen's start-up), so the first generation does not wait
    for its imports; a server that cannot start is only logged (exports fall back)."""
    with _lock, contextlib.suppress(Unavailable):
        _running()


def shutdown() -> None:
    """Stop the server if it runs, and forget a failure to start it; registered at exit."""
    global _server, _broken
    with _lock:
        if _server is not None:
            _server.stop()
            _server = None
        _broken = None


def _running() -> _Server:
    global _server, _broken, _stop_registered
    if _broken is not None:
        raise Unavailable(_broken)
    if _server is not None and _server.process.poll() is not None:
        _server.kill()  # it ended on its own (killed from outside?): close its pipes
        _server = None
    if _server is None:
        try:
            _server = _Server(_SERVER_SCRIPT)
        except (OSError, EOFError, TimeoutError) as exc:
            _broken = f"the export server did not start: {exc!r}"
            log.warning("codegen.openapi_server_unavailable", reason=_broken)
            raise Unavailable(_broken) from exc
        if not _stop_registered:
            atexit.register(shutdown)
            _stop_registered = True
    return _server


__all__ = ["DROPPED_ENVIRONMENT", "PRELOAD", "Unavailable", "export", "shutdown", "warm_up"]
