"""32-bit (int 0x80) and x32 system calls kill the process instead of bypassing the filter."""

from __future__ import annotations

import signal
from typing import TYPE_CHECKING

import pytest

from devgen.services.executor.sandbox import Verdict

if TYPE_CHECKING:
    from tests.services.executor.conftest import RunPython, Unharmed

# mov eax, 20 (i386 getpid); int 0x80; ret -- run from an executable mapping.
INT80 = """
import ctypes, mmap
code = bytes([0xB8, 0x14, 0x00, 0x00, 0x00, 0xCD, 0x80, 0xC3])
buf = mmap.mmap(-1, mmap.PAGESIZE, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
buf.write(code)
addr = ctypes.addressof(ctypes.c_char.from_buffer(buf))
print("calling", flush=True)
print("returned", ctypes.CFUNCTYPE(ctypes.c_int)(addr)(), flush=True)
"""

X32 = """
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
print("calling", flush=True)
print("returned", libc.syscall(ctypes.c_long(0x40000000 | 39)), flush=True)  # x32 getpid
"""


@pytest.mark.parametrize("code", [INT80, X32], ids=["i386", "x32"])
async def test_foreign_abi_syscall_kills_the_process(
    py: RunPython, unharmed: Unharmed, code: str
) -> None:
    result = await py(code)
    assert result.verdict is Verdict.FAILED, result
    assert result.signal == signal.SIGSYS
    assert result.stdout == b"calling\n"
    await unharmed()
