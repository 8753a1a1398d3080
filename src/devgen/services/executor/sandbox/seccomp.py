"""The seccomp filter: what namespaces and dropped capabilities do not cover.

The BPF program is built once per process (libseccomp through ``pyseccomp``)
and kept as bytes; each execution hands bwrap a pipe holding it
(``--seccomp FD``), so building costs nothing per run.
"""

from __future__ import annotations

import errno
import functools
import tempfile

import pyseccomp as sc

# Denied with EPERM. Most of these also need capabilities the sandbox does not
# have; the filter is the second lock, and it is the only one for syscalls
# that need none (ptrace of a sibling, keyctl, io_uring, userfaultfd, bpf).
DENIED_SYSCALLS: tuple[str, ...] = (
    # debugging / reading other processes
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    # kernel keyrings are not namespaced
    "keyctl",
    "add_key",
    "request_key",
    # the mount family, old and new API
    "mount",
    "umount2",
    "pivot_root",
    "move_mount",
    "open_tree",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "mount_setattr",
    # io_uring bypasses seccomp for the operations it performs
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    # frequent kernel-exploit building blocks
    "bpf",
    "perf_event_open",
    "userfaultfd",
    # host administration
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "delete_module",
    "acct",
    "swapon",
    "swapoff",
    "reboot",
    "syslog",
    "quotactl",
    "open_by_handle_at",
)

# Anonymous memory files live outside the address space limit; without a
# memory cgroup nothing would bound them, so they are denied in that mode.
MEMFD_SYSCALLS: tuple[str, ...] = ("memfd_create", "memfd_secret")

AF_VSOCK = 40
TIOCSTI = 0x5412  # push a byte into a terminal's input queue
TIOCLINUX = 0x541C  # the console's selection/paste, same risk as TIOCSTI
_LOW32 = 0xFFFFFFFF


def _add(flt: sc.SyscallFilter, action: int, name: str, *args: sc.Arg) -> None:
    try:
        flt.add_rule(action, name, *args)
    except OSError:
        # libseccomp older than the syscall: the kernel it runs on may not
        # know it either; ENOSYS there is as good as EPERM.
        if name not in ("memfd_secret", "mount_setattr"):
            raise


@functools.cache
def filter_bytes(*, deny_memfd: bool) -> bytes:
    """Return the BPF program (native arch only) as bytes, built on first use."""
    flt = sc.SyscallFilter(sc.ALLOW)
    # A syscall made through another ABI (i386 ``int 0x80``, x32) is not
    # described by this filter: kill the process instead of allowing it.
    flt.set_attr(sc.Attr.ACT_BADARCH, sc.KILL_PROCESS)
    eperm = sc.ERRNO(errno.EPERM)
    for name in DENIED_SYSCALLS:
        _add(flt, eperm, name)
    if deny_memfd:
        for name in MEMFD_SYSCALLS:
            _add(flt, eperm, name)
    # The kernel truncates these int arguments to 32 bits, so compare the low
    # 32 bits only: a value with junk in the upper half must not slip past.
    flt.add_rule(sc.ERRNO(errno.EAFNOSUPPORT), "socket", sc.Arg(0, sc.MASKED_EQ, _LOW32, AF_VSOCK))
    flt.add_rule(
        sc.ERRNO(errno.EAFNOSUPPORT), "socketpair", sc.Arg(0, sc.MASKED_EQ, _LOW32, AF_VSOCK)
    )
    for request in (TIOCSTI, TIOCLINUX):
        flt.add_rule(eperm, "ioctl", sc.Arg(1, sc.MASKED_EQ, _LOW32, request))
    with tempfile.TemporaryFile() as out:
        flt.export_bpf(out)
        out.seek(0)
        return out.read()
