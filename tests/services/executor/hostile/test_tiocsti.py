"""TIOCSTI (typing into the caller's terminal) is refused; there is no terminal anyway."""

from __future__ import annotations

from typing import TYPE_CHECKING

from devgen.services.executor.sandbox import Verdict

if TYPE_CHECKING:
    from tests.services.executor.conftest import RunPython, Unharmed

TIOCSTI = """
import ctypes, fcntl, os, termios
libc = ctypes.CDLL(None, use_errno=True)
for fd in (0, 1, 2):
    try:
        fcntl.ioctl(fd, termios.TIOCSTI, b"x")
        print(fd, "injected")
    except OSError as exc:
        print(fd, exc.errno)
# The same request with junk in the upper 32 bits: the kernel would truncate it.
res = libc.syscall(16, 0, ctypes.c_ulong(0x1_0000_5412), ctypes.c_char_p(b"x"))
print("wide", res, ctypes.get_errno())
try:
    os.open("/dev/tty", os.O_RDWR)
    print("tty opened")
except OSError as exc:
    print("tty", exc.errno)
print(os.getsid(0) == os.getpid())
"""


async def test_tiocsti_is_denied(py: RunPython, unharmed: Unharmed) -> None:
    result = await py(TIOCSTI)
    assert result.verdict is Verdict.SUCCEEDED, result
    assert result.stdout_text.splitlines() == [
        "0 1",  # EPERM from the seccomp filter, before the tty layer is asked
        "1 1",
        "2 1",
        "wide -1 1",
        "tty 2",  # ENOENT: there is no /dev/tty (and no controlling terminal)
        "True",
    ]
    await unharmed()
