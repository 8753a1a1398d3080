"""Build package sets into virtualenvs on disk, once per set, shared by every process.

Layout under the environments directory::

    <key>.lock          flock'd by whichever process builds <key>
    <key>/venv/         the virtualenv, mounted read-only into executions
    <key>/build.log     pip's output
    <key>/ready.json    written last: its presence means the venv is complete

The key is the hash of (runtime, interpreter version, package set), so a
directory shared by several executor processes (or test workers) builds each
set once; a process that finds ``ready.json`` uses the venv as it is.

pip runs outside the sandbox, as the executor's user, so it installs wheels
only (``--only-binary :all:``): no package's build backend or ``setup.py``
ever runs here. The package names were checked by :mod:`.packages`; the index
is the machine's own pip configuration.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import importlib.util
import json
import os
import shutil
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from devgen.services.executor.sandbox import mounts

MAX_LOG_BYTES = 256 * 1024
_LOCK_POLL_S = 0.2
# What pip may see of the executor's environment: its configuration, the
# proxy and certificate settings. Never DEVGEN_* (secrets live there).
_PASSED_ENV_PREFIXES = ("PIP_", "SSL_CERT_", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
_PASSED_ENV = frozenset(
    {"PATH", "HOME", "LANG", "LC_ALL", "http_proxy", "https_proxy", "no_proxy"}
    | {"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY"}
)


@dataclass(frozen=True, slots=True)
class BuildOutcome:
    """How a build ended and what pip said."""

    ok: bool
    log: str
    error: str | None = None


class _Log:
    """A build log kept in memory, the oldest lines dropped past the cap."""

    def __init__(self) -> None:
        self._text = ""

    def write(self, text: str) -> None:
        self._text += text
        if len(self._text) > MAX_LOG_BYTES:
            self._text = "[... earlier output dropped ...]\n" + self._text[-MAX_LOG_BYTES:]

    @property
    def text(self) -> str:
        return self._text


class EnvironmentBuilder:
    """Turns a package set into a ready virtualenv under ``root``."""

    def __init__(self, root: Path, *, timeout_s: float) -> None:
        self.root = root
        self._timeout = timeout_s
        self._tasks: dict[str, asyncio.Task[BuildOutcome]] = {}
        self._logs: dict[str, _Log] = {}

    def venv(self, key: str) -> Path:
        """Where the virtualenv of ``key`` lives (complete only once :meth:`is_ready`)."""
        return self.root / key / "venv"

    def is_ready(self, key: str) -> bool:
        """Whether a complete build of ``key`` is on disk (by this process or another)."""
        return (self.root / key / "ready.json").is_file()

    def is_building(self, key: str) -> bool:
        """Whether this process is building ``key`` right now."""
        task = self._tasks.get(key)
        return task is not None and not task.done()

    def live_log(self, key: str) -> str | None:
        """The output so far of a build running in this process, else ``None``."""
        log = self._logs.get(key)
        return log.text if log is not None and self.is_building(key) else None

    def stored_log(self, key: str) -> str:
        """The log a finished build left on disk ("" when there is none)."""
        try:
            return (self.root / key / "build.log").read_text(errors="replace")
        except OSError:
            return ""

    async def build(self, key: str, packages: Sequence[str], *, python: str) -> BuildOutcome:
        """Build ``key`` with the interpreter ``python`` unless it is on disk.

        Concurrent calls share one build.
        """
        task = self._tasks.get(key)
        if task is None or task.done():
            self._logs[key] = _Log()
            task = asyncio.ensure_future(self._build(key, list(packages), python, self._logs[key]))
            self._tasks[key] = task
        # A caller that gives up (a cancelled request) must not kill a build
        # others wait for.
        return await asyncio.shield(task)

    async def close(self) -> None:
        """Stop builds still running (their partial directories are removed next time)."""
        tasks = [task for task in self._tasks.values() if not task.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()

    async def _build(self, key: str, packages: list[str], python: str, log: _Log) -> BuildOutcome:
        self.root.mkdir(mode=0o755, parents=True, exist_ok=True)
        lock_fd = os.open(self.root / f"{key}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            await _lock(lock_fd)
            if self.is_ready(key):
                return BuildOutcome(True, self.stored_log(key))
            return await self._build_locked(key, packages, python, log)
        finally:
            os.close(lock_fd)  # releases the flock

    async def _build_locked(
        self, key: str, packages: list[str], python: str, log: _Log
    ) -> BuildOutcome:
        directory = self.root / key
        _remove_tree(directory)  # a partial build of a process that died
        directory.mkdir(mode=0o755)
        venv = directory / "venv"
        started = time.monotonic()
        log.write(f"$ build {' '.join(packages) or '(no packages)'}\n")
        steps = [[python, "-m", "venv", *_venv_options(), str(venv)]]
        steps.append([*_pip(venv), *_PIP_INSTALL, "--", *packages] if packages else [])
        error = None
        for argv in filter(None, steps):
            remaining = self._timeout - (time.monotonic() - started)
            error = await _run(argv, log, remaining)
            if error is not None:
                break
        (directory / "build.log").write_text(log.text)
        if error is not None:
            log.write(f"\nbuild failed: {error}\n")
            _remove_tree(directory)
            return BuildOutcome(False, log.text, error)
        log.write(f"\nbuilt in {time.monotonic() - started:.1f}s\n")
        (directory / "build.log").write_text(log.text)
        marker = {
            "packages": packages,
            "python": python,
            "built_at": datetime.now(UTC).isoformat(),
        }
        partial = directory / "ready.json.partial"
        partial.write_text(json.dumps(marker))
        partial.rename(directory / "ready.json")  # atomic: readers see all or nothing
        return BuildOutcome(True, log.text)


_PIP_INSTALL = (
    "install",
    "--only-binary",
    ":all:",
    "--no-input",
    "--disable-pip-version-check",
    "--progress-bar",
    "off",
    "--no-warn-script-location",
    "--root-user-action",
    "ignore",
)


def _venv_options() -> list[str]:
    # With pip importable here, the venv gets no pip of its own (saves ~3 s):
    # ``pip --python`` installs into it from outside.
    return ["--without-pip"] if _host_pip() else []


def _host_pip() -> bool:
    return importlib.util.find_spec("pip") is not None


def _pip(venv: Path) -> list[str]:
    if _host_pip():
        return [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python")]
    return [str(venv / "bin" / "python"), "-m", "pip"]


def _pip_env() -> dict[str, str]:
    return {
        key: value
        for key, value in os.environ.items()
        if key in _PASSED_ENV or key.startswith(_PASSED_ENV_PREFIXES)
    }


async def _lock(fd: int) -> None:
    """flock ``fd`` exclusively, polling so that waiting stays cancellable."""
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            await asyncio.sleep(_LOCK_POLL_S)
        else:
            return


async def _run(argv: list[str], log: _Log, timeout_s: float) -> str | None:
    """Run one build step; return why it failed, or ``None``."""
    log.write(f"$ {' '.join(argv)}\n")
    if timeout_s <= 0:
        return "timed out"
    # The slot uids must be able to read the venv: umask 022 set by a shell,
    # because uvloop's subprocess_exec (what `devgen up` runs on) has no umask argument.
    process = await asyncio.create_subprocess_exec(
        "/bin/sh",
        "-c",
        'umask 022 && exec "$@"',
        "build-step",
        *argv,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=_pip_env(),
        start_new_session=True,
    )
    assert process.stdout is not None

    async def pump() -> None:
        assert process.stdout is not None
        while chunk := await process.stdout.read(8192):
            log.write(chunk.decode(errors="replace"))

    async def finish() -> None:
        # A coroutine, not the bare gather: wait_for cancels a task then, and
        # the gather's CancelledError is retrieved instead of logged at exit.
        await asyncio.gather(pump(), process.wait())

    try:
        await asyncio.wait_for(finish(), timeout_s)
    except (TimeoutError, asyncio.CancelledError) as exc:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        await process.wait()
        if isinstance(exc, asyncio.CancelledError):
            raise
        return f"timed out after {timeout_s:.0f}s"
    if process.returncode != 0:
        return f"{os.path.basename(argv[0])} exited with status {process.returncode}"
    return None


def _remove_tree(path: Path) -> None:
    """Delete a build directory, refusing if anything is mounted inside it."""
    if not path.exists():
        return
    if mounts.mounts_under(path):
        raise RuntimeError(f"refusing to delete {path}: something is mounted inside it")
    shutil.rmtree(path)
