"""No user namespace can be created inside the sandbox."""

from __future__ import annotations

from typing import TYPE_CHECKING

from devgen.services.executor.sandbox import Verdict

if TYPE_CHECKING:
    from tests.services.executor.conftest import RunPython, Unharmed

NESTED = """
import ctypes, errno, subprocess
out = subprocess.run(["unshare", "-U", "-r", "id", "-u"], capture_output=True, text=True)
print(out.returncode != 0, out.stdout.strip() == "")
libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWUSER = 0x10000000
print(libc.unshare(CLONE_NEWUSER), errno.errorcode[ctypes.get_errno()])
"""


async def test_nested_user_namespace_is_refused(py: RunPython, unharmed: Unharmed) -> None:
    result = await py(NESTED)
    assert result.verdict is Verdict.SUCCEEDED, result
    # bwrap --disable-userns sets the namespace limit to zero: ENOSPC.
    assert result.stdout_text.splitlines() == ["True True", "-1 ENOSPC"]
    await unharmed()
