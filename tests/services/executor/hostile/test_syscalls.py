"""keyctl, io_uring, ptrace, mount, bpf and AF_VSOCK are denied by the seccomp filter."""

from __future__ import annotations

from typing import TYPE_CHECKING

from devgen.services.executor.sandbox import Verdict

if TYPE_CHECKING:
    from tests.services.executor.conftest import RunPython, Unharmed

SYSCALLS = """
import ctypes, errno
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
calls = {
    "keyctl": (250, 0, 0, 0, 0),  # KEYCTL_GET_KEYRING_ID
    "add_key": (248, 0, 0, 0, 0),
    "io_uring_setup": (425, 8, 0),
    "ptrace": (101, 0, 0, 0, 0),  # PTRACE_TRACEME
    "mount": (165, 0, 0, 0, 0, 0),
    "bpf": (321, 0, 0, 0),
    "userfaultfd": (323, 0),
    "perf_event_open": (298, 0, 0, -1, -1, 0),
    "vsock": (41, 40, 1, 0),  # socket(AF_VSOCK, SOCK_STREAM)
    "vsock_wide": (41, 0x1_0000_0028, 1, 0),  # upper bits set: still AF_VSOCK
}
for name, args in calls.items():
    res = libc.syscall(*[ctypes.c_long(a) for a in args])
    print(name, res, errno.errorcode.get(ctypes.get_errno()))
"""


async def test_dangerous_syscalls_are_denied(py: RunPython, unharmed: Unharmed) -> None:
    result = await py(SYSCALLS)
    assert result.verdict is Verdict.SUCCEEDED, result
    assert result.stdout_text.splitlines() == [
        "keyctl -1 EPERM",
        "add_key -1 EPERM",
        "io_uring_setup -1 EPERM",
        "ptrace -1 EPERM",
        "mount -1 EPERM",
        "bpf -1 EPERM",
        "userfaultfd -1 EPERM",
        "perf_event_open -1 EPERM",
        "vsock -1 EAFNOSUPPORT",
        "vsock_wide -1 EAFNOSUPPORT",
    ]
    await unharmed()
