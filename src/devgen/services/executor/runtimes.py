"""The language runtimes an execution can use, found where the sandbox will find them.

The sandbox shows the host's ``/usr`` (and the interpreter's own prefix) at
the same paths inside, so looking a runtime up on the host along the
sandbox's ``PATH`` finds exactly the binary an execution will run.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
from dataclasses import dataclass

PYTHON = "python3"
RUNTIME_NAMES: tuple[str, ...] = (PYTHON, "node", "bash", "sh")
"""Every runtime the executor knows; ``python3`` must be present, the others may not."""

_VERSION_TIMEOUT_S = 5.0
_BASH_VERSION = re.compile(r"version (\S+)")


@dataclass(frozen=True, slots=True)
class Runtime:
    """One usable interpreter: its name, where it is, its version when it tells."""

    name: str
    path: str
    version: str | None

    @property
    def interpreter(self) -> list[str]:
        """The argv prefix that runs an entry file with this runtime."""
        return [self.name]


async def _version(name: str, path: str) -> str | None:
    if name == "sh":
        return None  # dash, the usual /bin/sh, has no --version
    try:
        process = await asyncio.create_subprocess_exec(
            path,
            "--version",
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env={},
        )
    except OSError:
        return None
    try:
        out, _ = await asyncio.wait_for(process.communicate(), _VERSION_TIMEOUT_S)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
        return None
    text = out.decode(errors="replace").strip()
    if not text:
        return None
    if name == PYTHON:
        return text.split()[-1]
    if name == "node":
        return text.splitlines()[0].lstrip("v")
    match = _BASH_VERSION.search(text)
    return match[1] if match else None


def _locate(search_path: str) -> dict[str, str]:
    found = {name: shutil.which(name, path=search_path) for name in RUNTIME_NAMES}
    # sh is reported as what it is (dash, bash...), as it has no version to tell.
    return {
        name: os.path.realpath(path) if name == "sh" else path
        for name, path in found.items()
        if path is not None
    }


async def detect(search_path: str) -> dict[str, Runtime]:
    """The runtimes present along ``search_path`` (a ``PATH`` value), with their versions."""
    present = _locate(search_path)
    versions = await asyncio.gather(*(_version(name, path) for name, path in present.items()))
    return {
        name: Runtime(name, path, version)
        for (name, path), version in zip(present.items(), versions, strict=True)
    }


class RuntimeCatalog:
    """The runtimes of this host, detected on first use and then remembered."""

    def __init__(self, search_path: str) -> None:
        self.search_path = search_path
        self._found: dict[str, Runtime] | None = None
        self._lock = asyncio.Lock()

    async def all(self) -> dict[str, Runtime]:
        """Every usable runtime by name."""
        async with self._lock:
            if self._found is None:
                self._found = await detect(self.search_path)
        return self._found

    async def python(self) -> Runtime:
        """``python3``, which every executor has (it runs the executor itself)."""
        found = (await self.all()).get(PYTHON)
        if found is None:
            raise RuntimeError(f"python3 is not on the sandbox's PATH ({self.search_path})")
        return found
