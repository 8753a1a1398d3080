"""A setuid copy of a shell gains nothing: nosuid workspace, no_new_privs, no root inside."""

from __future__ import annotations

from typing import TYPE_CHECKING

from devgen.services.executor.sandbox import Verdict

if TYPE_CHECKING:
    from tests.services.executor.conftest import RunPython, Unharmed

SETUID = """
import errno, os, shutil, subprocess
shutil.copy("/bin/sh", "sh")
os.chmod("sh", 0o4755)
print(oct(os.stat("sh").st_mode & 0o7777), os.stat("sh").st_uid)
out = subprocess.run(["./sh", "-c", "id -u; id -g; grep NoNewPrivs /proc/self/status"],
                     capture_output=True, text=True)
print(out.stdout.strip())
try:
    os.chown("sh", 0, 0)
    print("chowned")
except OSError as exc:
    print(errno.errorcode[exc.errno])
"""


async def test_setuid_copy_of_a_shell_stays_unprivileged(py: RunPython, unharmed: Unharmed) -> None:
    result = await py(SETUID)
    assert result.verdict is Verdict.SUCCEEDED, result
    assert result.stdout_text.splitlines() == [
        "0o4755 1000",
        "1000",
        "1000",
        "NoNewPrivs:\t1",
        "EINVAL",  # host root is not even mapped in the user namespace
    ]
    await unharmed()
