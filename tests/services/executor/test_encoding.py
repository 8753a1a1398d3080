"""Bytes in JSON: text when that loses nothing, base64 otherwise."""

from __future__ import annotations

import pytest

from devgen.services.executor.encoding import decode, encode


@pytest.mark.parametrize(
    "data", [b"", b"plain\n", "héllo ✓".encode(), b"\x00\xff\xfe", b"\xe2\x82"]
)
def test_round_trip(data: bytes) -> None:
    content, encoding = encode(data)

    assert decode(content, encoding) == data
    assert encoding == ("utf-8" if data.isascii() or data == "héllo ✓".encode() else "base64")


def test_invalid_base64_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="base64"):
        decode("not base64!", "base64")
