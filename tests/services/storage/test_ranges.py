"""``Range`` downloads: one byte range (206), or the whole file, or 416."""

from __future__ import annotations

import pytest

from devgen.services.storage.ranges import ByteRange, RangeNotSatisfiable, parse_range
from tests.helpers import assert_error, register
from tests.services.storage.conftest import BOTH_BACKENDS
from tests.services.storage.support import random_bytes, stored

SIZE = 1_000_000


@BOTH_BACKENDS
async def test_single_ranges_give_exactly_those_bytes(client):
    account = await register(client)
    data = random_bytes(SIZE)
    meta = await stored(client, account, data)
    cases = {
        "bytes=0-99": (0, 99),  # the start
        "bytes=500000-500009": (500_000, 500_009),  # the middle
        "bytes=-10": (SIZE - 10, SIZE - 1),  # a suffix
        "bytes=999990-": (999_990, SIZE - 1),  # open-ended
        "bytes=999999-5000000": (999_999, SIZE - 1),  # past the end: clipped
        "bytes=-2000000": (0, SIZE - 1),  # a suffix longer than the file
    }
    for header, (start, end) in cases.items():
        response = await client.get(
            meta["content_url"], headers={**account.headers, "Range": header}
        )
        assert response.status_code == 206, (header, response.text)
        assert response.content == data[start : end + 1], header
        assert response.headers["content-range"] == f"bytes {start}-{end}/{SIZE}"
        assert response.headers["content-length"] == str(end - start + 1)


@BOTH_BACKENDS
async def test_a_range_past_the_end_is_416(client):
    account = await register(client)
    meta = await stored(client, account, random_bytes(100))
    for header in ("bytes=100-", "bytes=5000-6000", "bytes=-0"):
        response = await client.get(
            meta["content_url"], headers={**account.headers, "Range": header}
        )
        error = assert_error(response, 416, "RANGE_NOT_SATISFIABLE")
        assert response.headers["content-range"] == "bytes */100"
        assert error["details"] == {"size": 100}


async def test_headers_that_are_not_one_valid_range_get_the_whole_file(client):
    account = await register(client)
    data = random_bytes(500)
    meta = await stored(client, account, data)
    for header in ("bytes=0-1,5-6", "bytes=9-3", "items=0-5", "bytes=abc", "bytes=-"):
        response = await client.get(
            meta["content_url"], headers={**account.headers, "Range": header}
        )
        assert response.status_code == 200, header
        assert response.content == data


async def test_a_stale_if_range_gets_the_whole_file(client):
    account = await register(client)
    data = random_bytes(500)
    meta = await stored(client, account, data)
    stale = await client.get(
        meta["content_url"],
        headers={**account.headers, "Range": "bytes=0-9", "If-Range": '"not-the-etag"'},
    )
    assert (stale.status_code, stale.content) == (200, data)
    fresh = await client.get(
        meta["content_url"],
        headers={**account.headers, "Range": "bytes=0-9", "If-Range": f'"{meta["sha256"]}"'},
    )
    assert (fresh.status_code, fresh.content) == (206, data[:10])


async def test_head_with_a_range_describes_it(client):
    account = await register(client)
    meta = await stored(client, account, random_bytes(100))
    response = await client.head(
        meta["content_url"], headers={**account.headers, "Range": "bytes=10-19"}
    )
    assert response.status_code == 206
    assert response.headers["content-range"] == "bytes 10-19/100"
    assert response.headers["content-length"] == "10"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("bytes=0-0", ByteRange(0, 0, 10)),
        ("bytes = 2 - 4", ByteRange(2, 4, 10)),
        ("bytes=-3", ByteRange(7, 9, 10)),
        ("bytes=4-", ByteRange(4, 9, 10)),
        ("bytes=0-99999999999999999", ByteRange(0, 9, 10)),
        ("bytes=5-4", None),
        ("bytes=0-1,3-4", None),
        ("pages=1-2", None),
    ],
)
def test_parse_range(header, expected):
    assert parse_range(header, 10) == expected


def test_any_range_of_an_empty_file_is_unsatisfiable():
    for header in ("bytes=0-", "bytes=-1"):
        with pytest.raises(RangeNotSatisfiable):
            parse_range(header, 0)
