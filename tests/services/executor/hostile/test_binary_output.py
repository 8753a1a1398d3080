"""NUL bytes and invalid UTF-8 come back byte-exact, with a replacing text view."""

from __future__ import annotations

from typing import TYPE_CHECKING

from devgen.services.executor.sandbox import Verdict

if TYPE_CHECKING:
    from tests.services.executor.conftest import RunPython, Unharmed

PAYLOAD = b"a\x00b\xff\xfe\xc3(\x00\n"


async def test_binary_output_is_preserved(py: RunPython, unharmed: Unharmed) -> None:
    code = (
        f"import sys\nsys.stdout.buffer.write({PAYLOAD!r})\nsys.stderr.buffer.write({PAYLOAD!r})\n"
    )
    result = await py(code)
    assert result.verdict is Verdict.SUCCEEDED, result
    assert result.stdout == PAYLOAD
    assert result.stderr == PAYLOAD
    assert result.stdout_text == PAYLOAD.decode("utf-8", "replace")
    assert "\ufffd" in result.stdout_text
    await unharmed()
