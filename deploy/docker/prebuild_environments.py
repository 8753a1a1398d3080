"""Build the executor's built-in environments into the image (run by the Dockerfile).

The executor builds an environment on first use; doing it at image build time
means a container runs the generated tests without reaching a package index,
and its first run is not a minute slower. The executor finds the result by its
build key (runtime, interpreter version, package set), exactly as it would
find a build another executor process left in the shared directory. A key
that does not match (another interpreter at run time) is simply built again.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path, PurePosixPath

from devgen.services.executor.builder import EnvironmentBuilder
from devgen.services.executor.builtin import builtins
from devgen.services.executor.packages import build_key, normalize_set
from devgen.services.executor.runtimes import RuntimeCatalog
from devgen.services.executor.sandbox import command as sandbox_command
from devgen.services.executor.sandbox.config import SandboxConfig
from devgen.services.executor.settings import ExecutorSettings


def _search_path() -> str:
    """The sandbox's PATH, where the executor looks its runtimes up."""
    views = [
        sandbox_command.View(directory, PurePosixPath(os.path.realpath(directory)))
        for directory in SandboxConfig().runtime_dirs
    ]
    return sandbox_command.search_path(views, [])


async def prebuild(root: Path) -> int:
    """Build every built-in environment under ``root``; returns the exit status."""
    settings = ExecutorSettings()
    builder = EnvironmentBuilder(root, timeout_s=settings.executor_build_timeout_seconds)
    python = await RuntimeCatalog(_search_path()).python()
    status = 0
    for environment in builtins().values():
        packages = normalize_set(environment.packages)
        key = build_key(environment.runtime, python.version or "unknown", packages)
        outcome = await builder.build(key, packages, python=python.path)
        print(f"{environment.name}: {'built' if outcome.ok else 'FAILED'} ({key[:12]})")
        if not outcome.ok:
            print(outcome.log, file=sys.stderr)
            status = 1
    await builder.close()
    return status


if __name__ == "__main__":
    sys.exit(asyncio.run(prebuild(ExecutorSettings().executor_environments_dir)))
