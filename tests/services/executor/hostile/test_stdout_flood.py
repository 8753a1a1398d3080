"""An output flood is cut at the per-stream cap and the program is stopped."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from devgen.services.executor.sandbox import KIB, Limits, Verdict

if TYPE_CHECKING:
    from tests.services.executor.conftest import RunPython, Unharmed


@pytest.mark.parametrize("stream", ["stdout", "stderr"])
async def test_output_flood_is_truncated(py: RunPython, unharmed: Unharmed, stream: str) -> None:
    code = f"import sys\nwhile True:\n    sys.{stream}.write('y' * 4096)\n"
    result = await py(code, limits=Limits(output_bytes=64 * KIB, wall_time_s=10))
    assert result.verdict is Verdict.OUTPUT_LIMIT, result
    flooded = getattr(result, stream)
    assert len(flooded) == 64 * KIB
    assert set(flooded) == {ord("y")}
    assert getattr(result, f"{stream}_truncated") is True
    assert result.wall_time_s < 5
    await unharmed()
