"""mknod is denied, hard links cannot reach host files, a fifo stays inside."""

from __future__ import annotations

from typing import TYPE_CHECKING

from devgen.services.executor.sandbox import Verdict

if TYPE_CHECKING:
    from tests.services.executor.conftest import RunPython, Unharmed

NODES = """
import errno, os, stat
def attempt(label, fn):
    try:
        fn()
        print(label, "ok")
    except OSError as exc:
        print(label, errno.errorcode[exc.errno])
attempt("mknod-char", lambda: os.mknod("mem", stat.S_IFCHR | 0o666, os.makedev(1, 1)))
attempt("mknod-block", lambda: os.mknod("sda", stat.S_IFBLK | 0o666, os.makedev(8, 0)))
attempt("mkfifo", lambda: os.mkfifo("pipe"))
attempt("hardlink-passwd", lambda: os.link("/etc/passwd", "passwd"))
attempt("hardlink-python", lambda: os.link("/usr/bin/env", "env"))
attempt("hardlink-tmp", lambda: os.link("/tmp", "tmp"))
"""


async def test_device_nodes_and_host_hardlinks_are_refused(
    py: RunPython, unharmed: Unharmed
) -> None:
    result = await py(NODES)
    assert result.verdict is Verdict.SUCCEEDED, result
    assert result.stdout_text.splitlines() == [
        "mknod-char EPERM",
        "mknod-block EPERM",
        "mkfifo ok",
        "hardlink-passwd EXDEV",  # the workspace is its own filesystem
        "hardlink-python EXDEV",
        "hardlink-tmp EXDEV",
    ]
    await unharmed()
