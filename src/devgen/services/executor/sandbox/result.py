"""The outcome of one execution."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from devgen.services.executor.sandbox.limits import Limits


class Verdict(StrEnum):
    """How an execution ended; exactly one per result."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"  # non-zero exit or killed by a signal of its own making
    TIME_LIMIT = "time_limit"  # CPU time limit
    WALL_TIME_LIMIT = "wall_time_limit"
    MEMORY_LIMIT = "memory_limit"
    OUTPUT_LIMIT = "output_limit"
    KILLED = "killed"  # cancelled by the caller
    INTERNAL_ERROR = "internal_error"  # the sandbox itself failed; the program may not have run


class FileStatus(StrEnum):
    """What happened when a requested result file was read back."""

    OK = "ok"
    TRUNCATED = "truncated"  # larger than the cap: the first bytes are returned
    MISSING = "missing"
    NOT_REGULAR = "not_regular"  # symlink, directory, fifo, device...: never followed


@dataclass(frozen=True, slots=True)
class CollectedFile:
    """A result file read back from the workspace."""

    status: FileStatus
    content: bytes = b""
    size: int | None = None  # size the file claimed (st_size), when it was a regular file


@dataclass(frozen=True, slots=True)
class Isolation:
    """Which mechanism enforced what, for this very execution."""

    mode: str  # "bwrap" or "unsafe-none"
    namespaces: tuple[str, ...] = ()
    resources: str = "none"  # what bounds the execution: "cgroup-v2", "cgroup-v1", "rlimit"
    memory: str = "none"  # "cgroup-v2", "cgroup-v1" or "rlimit-as" (per process), or "none"
    processes: str = "none"  # "cgroup-v2", "cgroup-v1" or "rlimit-nproc", or "none"
    cpu: str = "none"  # the CPU share: "cgroup-v2", "cgroup-v1", or "none" (not bounded)
    seccomp: bool = False
    host_uid: int | None = None
    slot: int | None = None


@dataclass(frozen=True, slots=True)
class SandboxResult:
    """Everything known about one execution.

    ``stdout``/``stderr`` are the raw bytes (binary-safe, at most the cap);
    ``stdout_text``/``stderr_text`` replace invalid UTF-8.
    """

    verdict: Verdict
    exit_code: int | None
    signal: int | None
    stdout: bytes
    stderr: bytes
    stdout_truncated: bool
    stderr_truncated: bool
    cpu_time_s: float
    wall_time_s: float
    peak_memory_bytes: int | None
    limits: Limits
    isolation: Isolation
    files: dict[str, CollectedFile] = field(default_factory=dict)
    detail: str = ""  # why, for verdicts that are not obvious (internal errors above all)

    @property
    def stdout_text(self) -> str:
        """stdout decoded as UTF-8, invalid sequences replaced."""
        return self.stdout.decode("utf-8", "replace")

    @property
    def stderr_text(self) -> str:
        """stderr decoded as UTF-8, invalid sequences replaced."""
        return self.stderr.decode("utf-8", "replace")
