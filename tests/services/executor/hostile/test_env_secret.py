"""The platform's environment variables never reach the program."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from devgen.services.executor.sandbox import Verdict

if TYPE_CHECKING:
    from tests.services.executor.conftest import RunPython, Unharmed

DUMP = """
import os
print(sorted(os.environ))
for pid in os.listdir("/proc"):
    if pid.isdigit():
        with open(f"/proc/{pid}/environ", "rb") as f:
            if b"DEVGEN_SECRET" in f.read():
                print("LEAK", pid)
"""


async def test_planted_secret_is_invisible(
    py: RunPython, unharmed: Unharmed, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEVGEN_SECRET", "hunter2-do-not-leak")
    result = await py(DUMP)
    assert result.verdict is Verdict.SUCCEEDED, result
    assert result.stdout == b"['HOME', 'LANG', 'PATH', 'PWD']\n"
    await unharmed()
