"""The BPF program is built once and has the right shape."""

from devgen.services.executor.sandbox import seccomp


def test_filter_is_a_bpf_program_built_once() -> None:
    first = seccomp.filter_bytes(deny_memfd=True)
    assert len(first) % 8 == 0  # struct sock_filter is 8 bytes
    assert len(first) > 8 * len(seccomp.DENIED_SYSCALLS)
    assert seccomp.filter_bytes(deny_memfd=True) is first


def test_memfd_rule_only_without_a_memory_cgroup() -> None:
    assert seccomp.filter_bytes(deny_memfd=True) != seccomp.filter_bytes(deny_memfd=False)


def test_denied_set_covers_the_brief() -> None:
    for name in ("ptrace", "keyctl", "mount", "io_uring_setup", "bpf", "userfaultfd"):
        assert name in seccomp.DENIED_SYSCALLS
