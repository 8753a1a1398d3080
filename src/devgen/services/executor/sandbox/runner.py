"""Turn limits into rlimits, and what the supervisor saw into a verdict and a result."""

from __future__ import annotations

import math
import os
import re
import resource
import signal
from dataclasses import dataclass

from devgen.services.executor.sandbox.limits import Limits
from devgen.services.executor.sandbox.process import Outcome, StopReason
from devgen.services.executor.sandbox.request import SandboxRequest
from devgen.services.executor.sandbox.result import (
    CollectedFile,
    Isolation,
    SandboxResult,
    Verdict,
)

# The outer bwrap process runs as the slot uid with the same limits and counts
# against RLIMIT_NPROC; the program and its descendants get exactly ``processes``.
NPROC_OVERHEAD = 1

# Tell-tale endings of a program that ran out of address space. Only used
# when no memory cgroup can tell for sure (see the docs): a program could
# print these on purpose, but it would only mislabel its own failure.
_OOM_MARKERS = re.compile(
    rb"MemoryError|Cannot allocate memory|std::bad_alloc|out of memory|"
    rb"failed to allocate|memory allocation of \d+ bytes failed",
    re.IGNORECASE,
)


def rlimits_for(limits: Limits, *, address_space: bool) -> dict[int, tuple[int, int]]:
    """The rlimits of one execution (``resource.RLIMIT_*`` -> (soft, hard)).

    ``address_space`` is off when a memory cgroup bounds memory instead.
    """
    cpu = max(1, math.ceil(limits.cpu_time_s))
    values = {
        # soft == hard: the kernel sends SIGKILL at the limit. SIGXCPU would be
        # ignored anyway by the program, which is pid 1 of its namespace.
        resource.RLIMIT_CPU: (cpu, cpu),
        resource.RLIMIT_NPROC: (limits.processes + NPROC_OVERHEAD,) * 2,
        resource.RLIMIT_STACK: (limits.stack_bytes,) * 2,
        resource.RLIMIT_FSIZE: (limits.file_size_bytes,) * 2,
        resource.RLIMIT_NOFILE: (limits.open_files,) * 2,
        resource.RLIMIT_CORE: (0, 0),
        resource.RLIMIT_MEMLOCK: (0, 0),
        resource.RLIMIT_MSGQUEUE: (0, 0),
    }
    if address_space:
        values[resource.RLIMIT_AS] = (limits.memory_bytes,) * 2
    return values


@dataclass(frozen=True, slots=True)
class Decision:
    """The verdict and the exit facts it was derived from."""

    verdict: Verdict
    exit_code: int | None
    signal: int | None
    detail: str = ""


def exit_facts(wait_status: int | None, *, via_bwrap: bool) -> tuple[int | None, int | None]:
    """Return ``(exit_code, signal)`` of the program.

    bwrap reports a program killed by signal N as exit status 128+N (the shell
    convention), so in that mode 129..192 is read as a signal.
    """
    if wait_status is None:
        return None, None
    if os.WIFSIGNALED(wait_status):
        return None, os.WTERMSIG(wait_status)
    code = os.WEXITSTATUS(wait_status)
    if via_bwrap and 128 < code <= 128 + 64:
        return None, code - 128
    return code, None


def decide(
    outcome: Outcome,
    limits: Limits,
    *,
    via_bwrap: bool,
    cpu_time_s: float,
    oom_killed: bool | None,
) -> Decision:
    """Pick the one verdict; ``oom_killed`` is ``None`` when no cgroup can tell."""
    code, sig = exit_facts(outcome.wait_status, via_bwrap=via_bwrap)
    reason = outcome.reason
    if reason is StopReason.SETUP_FAILED:
        return Decision(Verdict.INTERNAL_ERROR, code, sig, outcome.detail)
    if reason is StopReason.CANCELLED:
        return Decision(Verdict.KILLED, code, sig, "stopped by the caller")
    if reason is StopReason.WALL_TIME:
        return Decision(
            Verdict.WALL_TIME_LIMIT, code, sig, f"wall time over {limits.wall_time_s:g}s"
        )
    if reason is StopReason.OUTPUT:
        return Decision(
            Verdict.OUTPUT_LIMIT, code, sig, f"output over {limits.output_bytes} bytes per stream"
        )
    cpu_limit = max(1, math.ceil(limits.cpu_time_s))
    # A SIGKILL we did not send is the kernel's: the program is PID 1 of its
    # namespace, so nothing inside can SIGKILL it, and besides us only
    # RLIMIT_CPU and the OOM killer do. The rusage total reads under what the
    # kernel counted (bwrap's setup before exec counts there, and a loaded
    # machine skews it further: measured as low as 81 % of the limit), hence
    # the wide margin.
    if sig == signal.SIGXCPU or (sig == signal.SIGKILL and cpu_time_s >= 0.5 * cpu_limit):
        return Decision(Verdict.TIME_LIMIT, code, sig, f"CPU time over {cpu_limit}s")
    if oom_killed:
        return Decision(Verdict.MEMORY_LIMIT, code, sig, "the memory cgroup OOM-killed a process")
    if code == 0 and sig is None:
        return Decision(Verdict.SUCCEEDED, 0, None)
    if oom_killed is None and _OOM_MARKERS.search(outcome.stderr[-4096:]):
        return Decision(
            Verdict.MEMORY_LIMIT, code, sig, "allocation failed under the address-space limit"
        )
    detail = f"killed by signal {sig}" if sig is not None else f"exit code {code}"
    return Decision(Verdict.FAILED, code, sig, detail)


def build_result(
    outcome: Outcome,
    request: SandboxRequest,
    isolation: Isolation,
    files: dict[str, CollectedFile],
    *,
    oom: bool | None,
    peak: int | None,
    via_bwrap: bool,
) -> SandboxResult:
    """Assemble the result of an execution the supervisor saw through."""
    usage = outcome.rusage
    cpu = (usage.ru_utime + usage.ru_stime) if usage is not None else 0.0
    # No fallback to wait4's ru_maxrss: the launcher was vforked from this
    # process, and Linux carries the pre-exec (our own) RSS into it, so it
    # would report the executor's size, not the program's.
    decision = decide(
        outcome,
        request.limits,
        via_bwrap=via_bwrap,
        cpu_time_s=cpu,
        oom_killed=oom,
    )
    return SandboxResult(
        verdict=decision.verdict,
        exit_code=decision.exit_code,
        signal=decision.signal,
        stdout=outcome.stdout,
        stderr=outcome.stderr,
        stdout_truncated=outcome.stdout_truncated,
        stderr_truncated=outcome.stderr_truncated,
        cpu_time_s=cpu,
        wall_time_s=outcome.wall_time_s,
        peak_memory_bytes=peak,
        limits=request.limits,
        isolation=isolation,
        files=files,
        detail=decision.detail,
    )


def early_result(
    request: SandboxRequest,
    isolation: Isolation,
    detail: str,
    verdict: Verdict,
    exit_code: int | None = None,
) -> SandboxResult:
    """A result for an execution that ended before the program could run."""
    return SandboxResult(
        verdict=verdict,
        exit_code=exit_code,
        signal=None,
        stdout=b"",
        stderr=detail.encode() if verdict is Verdict.FAILED else b"",
        stdout_truncated=False,
        stderr_truncated=False,
        cpu_time_s=0.0,
        wall_time_s=0.0,
        peak_memory_bytes=None,
        limits=request.limits,
        isolation=isolation,
        detail=detail,
    )
