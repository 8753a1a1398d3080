"""A 1 TiB sparse file cannot be made, and a result file is read back capped."""

from __future__ import annotations

from typing import TYPE_CHECKING

from devgen.services.executor.sandbox import MIB, FileStatus, Limits, Verdict

if TYPE_CHECKING:
    from tests.services.executor.conftest import RunPython, Unharmed

SPARSE = """
import errno
with open("huge.bin", "wb") as f:
    try:
        f.truncate(1 << 40)
    except OSError as exc:
        print(errno.errorcode[exc.errno])
    f.truncate(4 * 1024 * 1024)  # as large as the file size limit allows
"""


async def test_sparse_terabyte_result_is_refused_and_capped(
    py: RunPython, unharmed: Unharmed
) -> None:
    result = await py(SPARSE, limits=Limits(file_size_bytes=4 * MIB), collect=["huge.bin"])
    assert result.verdict is Verdict.SUCCEEDED, result
    assert result.stdout == b"EFBIG\n"
    collected = result.files["huge.bin"]
    assert collected.status is FileStatus.OK
    assert collected.size == 4 * MIB
    assert len(collected.content) == 4 * MIB
    await unharmed()
