"""Verdicts are derived from what the supervisor saw."""

import os
import resource
import signal

import pytest

from devgen.services.executor.sandbox import Limits, Verdict
from devgen.services.executor.sandbox.process import Outcome, StopReason
from devgen.services.executor.sandbox.runner import decide, exit_facts, rlimits_for


def _outcome(
    reason: StopReason = StopReason.EXITED, *, code: int = 0, stderr: bytes = b""
) -> Outcome:
    return Outcome(
        reason=reason,
        wait_status=code << 8,  # an exit status as wait() reports it
        rusage=None,
        wall_time_s=0.1,
        stdout=b"",
        stderr=stderr,
        stdout_truncated=False,
        stderr_truncated=False,
    )


def _verdict(outcome: Outcome, *, cpu: float = 0.0, oom: bool | None = None) -> Verdict:
    return decide(outcome, Limits(), via_bwrap=True, cpu_time_s=cpu, oom_killed=oom).verdict


def test_exit_codes_above_128_are_signals_through_bwrap() -> None:
    assert exit_facts(137 << 8, via_bwrap=True) == (None, 9)
    assert exit_facts(137 << 8, via_bwrap=False) == (137, None)
    assert exit_facts(3 << 8, via_bwrap=True) == (3, None)
    assert exit_facts(signal.SIGTERM, via_bwrap=True) == (None, signal.SIGTERM)
    assert os.WIFSIGNALED(signal.SIGTERM)


@pytest.mark.parametrize(
    ("outcome", "cpu", "oom", "verdict"),
    [
        (_outcome(), 0.0, None, Verdict.SUCCEEDED),
        (_outcome(code=1), 0.0, None, Verdict.FAILED),
        (_outcome(code=128 + 11), 0.0, None, Verdict.FAILED),
        (_outcome(code=128 + 9), 4.9, None, Verdict.TIME_LIMIT),
        (_outcome(code=128 + 9), 3.0, None, Verdict.TIME_LIMIT),  # rusage read low under load
        (_outcome(code=128 + 9), 0.1, None, Verdict.FAILED),
        (_outcome(code=128 + 24), 0.1, None, Verdict.TIME_LIMIT),  # SIGXCPU
        (_outcome(code=1, stderr=b"...\nMemoryError\n"), 0.1, None, Verdict.MEMORY_LIMIT),
        (_outcome(code=1, stderr=b"MemoryError"), 0.1, False, Verdict.FAILED),  # cgroup says no
        (_outcome(code=128 + 9), 0.1, True, Verdict.MEMORY_LIMIT),
        (_outcome(StopReason.WALL_TIME, code=128 + 9), 0.0, None, Verdict.WALL_TIME_LIMIT),
        (_outcome(StopReason.OUTPUT, code=128 + 9), 0.0, None, Verdict.OUTPUT_LIMIT),
        (_outcome(StopReason.CANCELLED, code=128 + 9), 0.0, None, Verdict.KILLED),
        (_outcome(StopReason.SETUP_FAILED, code=1), 0.0, None, Verdict.INTERNAL_ERROR),
    ],
)
def test_verdicts(outcome: Outcome, cpu: float, oom: bool | None, verdict: Verdict) -> None:
    assert _verdict(outcome, cpu=cpu, oom=oom) is verdict


def test_no_address_space_limit_with_a_memory_cgroup() -> None:
    assert resource.RLIMIT_AS in rlimits_for(Limits(), address_space=True)
    assert resource.RLIMIT_AS not in rlimits_for(Limits(), address_space=False)


def test_rlimits_follow_the_limits() -> None:
    values = rlimits_for(Limits(cpu_time_s=2.5, processes=10), address_space=True)
    assert values[resource.RLIMIT_CPU] == (3, 3)
    assert values[resource.RLIMIT_NPROC] == (11, 11)  # + the bwrap launcher
    assert values[resource.RLIMIT_CORE] == (0, 0)
    assert values[resource.RLIMIT_AS] == (Limits().memory_bytes,) * 2
