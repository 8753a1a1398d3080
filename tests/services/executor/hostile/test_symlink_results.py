"""Result files that are links, fifos or directories are never followed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from devgen.services.executor.sandbox import FileStatus, Verdict

if TYPE_CHECKING:
    from tests.services.executor.conftest import RunPython, Unharmed

PLANT = """
import os
os.symlink("/etc/shadow", "shadow.xml")
os.symlink("/etc/passwd", "passwd.xml")
os.symlink("/", "root")
os.mkdir("reports")
os.symlink("/etc", "reports/etc")
os.mkfifo("fifo.xml")
os.mkdir("dir.xml")
# fan-out: a chain and a wide fan of links, each one a result candidate
for n in range(500):
    os.symlink(f"link{n + 1}", f"link{n}")
with open("real.xml", "w") as f:
    f.write("<ok/>")
"""

COLLECT = [
    "shadow.xml",
    "passwd.xml",
    "root/etc/passwd",
    "reports/etc/passwd",
    "fifo.xml",
    "dir.xml",
    "missing.xml",
    "real.xml/child",
    *[f"link{n}" for n in range(0, 500, 7)],
    "real.xml",
]


async def test_links_fifos_and_dirs_are_refused(py: RunPython, unharmed: Unharmed) -> None:
    result = await py(PLANT, collect=COLLECT)
    assert result.verdict is Verdict.SUCCEEDED, result
    files = result.files
    assert files["real.xml"].status is FileStatus.OK
    assert files["real.xml"].content == b"<ok/>"
    assert files["missing.xml"].status is FileStatus.MISSING
    refused = [name for name in COLLECT if name not in ("real.xml", "missing.xml")]
    for name in refused:
        assert files[name].status is FileStatus.NOT_REGULAR, name
        assert files[name].content == b""
    await unharmed()
