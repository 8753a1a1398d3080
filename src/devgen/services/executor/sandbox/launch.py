"""bwrap's start gate: its rlimits are lowered before it reads its options.

bwrap is spawned as ``bwrap --args FD -- <command>`` and blocks reading its
options from FD. Right after the spawn, still on the spawning thread with
the slot's credentials, the host lowers bwrap's rlimits with ``prlimit(2)``
(allowed without any capability: the caller's real uid and gid are the
target's) and only then writes the options. bwrap forks the program after
parsing them, so the program inherits the limits from its first instruction.

This replaces an exec of ``prlimit(1)`` in front of bwrap (~0.8 ms per
execution) and needs no round trip through the event loop. It fails closed:
if the options never arrive, bwrap runs the command in an empty root where
nothing can be exec'd; on any error here the supervisor kills bwrap.

``Popen`` returns once the child's close-on-exec descriptors are closed,
which the kernel does a moment *before* it commits the new credentials:
for a few microseconds the child still has the spawning thread's saved
uid 0 and ``prlimit(2)`` answers EPERM. :func:`_lower` retries through that
window (bounded).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import resource
import time
from collections.abc import Mapping

# bwrap's options are a few kilobytes; they must fit the pipe so that writing
# them never blocks the event loop.
_MAX_PAYLOAD = 1 << 20
# How long the child may take to finish exec'ing bwrap (normally microseconds).
_EXEC_WINDOW_S = 1.0


def _lower(pid: int, which: int, limits: tuple[int, int]) -> None:
    """``prlimit(pid, which, limits)``, waiting out the end of the child's exec.

    Sleeping (a few tens of microseconds, growing) rather than spinning
    leaves the CPU to the very child being waited for.
    """
    deadline = time.monotonic() + _EXEC_WINDOW_S
    pause = 20e-6
    while True:
        try:
            resource.prlimit(pid, which, limits)
        except PermissionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 1e-3)
        else:
            return


class OptionsGate:
    """Our end of bwrap's ``--args`` pipe; ``child_fd`` is passed to bwrap."""

    def __init__(self, rlimits: Mapping[int, tuple[int, int]]) -> None:
        self.child_fd, self._write_fd = os.pipe2(os.O_CLOEXEC)
        self._rlimits = dict(rlimits)
        self._payload = b""

    def load(self, payload: bytes) -> None:
        """Set the options bwrap will read, sizing the pipe to hold them at once."""
        if len(payload) > _MAX_PAYLOAD:
            raise ValueError(f"bwrap options of {len(payload)} bytes do not fit the pipe")
        if len(payload) > fcntl.fcntl(self._write_fd, fcntl.F_GETPIPE_SZ):
            fcntl.fcntl(self._write_fd, fcntl.F_SETPIPE_SZ, len(payload))
        self._payload = payload

    def release(self, pid: int) -> None:
        """Lower ``pid``'s rlimits, then hand it the options (call with the slot's credentials)."""
        try:
            for which, limits in self._rlimits.items():
                _lower(pid, which, limits)
            view = memoryview(self._payload)
            while view:
                view = view[os.write(self._write_fd, view) :]
        finally:
            self.close()

    def close(self) -> None:
        """Close our end (bwrap sees the end of its options). Safe to call twice."""
        if self._write_fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self._write_fd)
            self._write_fd = -1
