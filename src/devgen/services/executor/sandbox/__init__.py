"""Sandboxed execution of untrusted code: bubblewrap, seccomp, rlimits/cgroups.

Usage::

    async with Sandbox(environment="production", config=SandboxConfig(...)) as sandbox:
        await sandbox.check()
        result = await sandbox.run(
            SandboxRequest(command=["python3", "main.py"], files={"main.py": b"print(1)"})
        )

See ``docs/services/executor-sandbox.md`` for what is isolated and how.
"""

from devgen.services.executor.sandbox.config import SandboxConfig
from devgen.services.executor.sandbox.errors import (
    InvalidRequestError,
    LimitExceededError,
    SandboxError,
    SandboxUnavailableError,
    UnsafeModeRefusedError,
)
from devgen.services.executor.sandbox.limits import GIB, KIB, MIB, LimitMaxima, Limits
from devgen.services.executor.sandbox.probe import HostCapabilities, probe_host
from devgen.services.executor.sandbox.request import EnvMount, OutputChunk, SandboxRequest
from devgen.services.executor.sandbox.result import (
    CollectedFile,
    FileStatus,
    Isolation,
    SandboxResult,
    Verdict,
)
from devgen.services.executor.sandbox.sandbox import Sandbox

__all__ = [
    "GIB",
    "KIB",
    "MIB",
    "CollectedFile",
    "EnvMount",
    "FileStatus",
    "HostCapabilities",
    "InvalidRequestError",
    "Isolation",
    "LimitExceededError",
    "LimitMaxima",
    "Limits",
    "OutputChunk",
    "Sandbox",
    "SandboxConfig",
    "SandboxError",
    "SandboxRequest",
    "SandboxResult",
    "SandboxUnavailableError",
    "UnsafeModeRefusedError",
    "Verdict",
    "probe_host",
]
