"""Pieces the storage routes share: OpenAPI descriptions and download conditions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Header, Request

from devgen.services.storage.downloads import Conditions

BINARY_SCHEMA = {"type": "string", "format": "binary"}

DOWNLOAD_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The bytes, exactly as stored.",
        "content": {"application/octet-stream": {"schema": BINARY_SCHEMA}},
    },
    206: {
        "description": "One byte range (see `Content-Range`).",
        "content": {"application/octet-stream": {"schema": BINARY_SCHEMA}},
    },
    304: {"description": "Not modified (`If-None-Match` matches the ETag)."},
}


async def _conditions(
    request: Request,
    range_: Annotated[
        str | None,
        Header(
            alias="Range",
            max_length=200,
            description="One byte range: `bytes=0-99`, `bytes=100-` or `bytes=-100`.",
        ),
    ] = None,
    if_range: Annotated[str | None, Header(max_length=200)] = None,
    if_none_match: Annotated[str | None, Header(max_length=1024)] = None,
) -> Conditions:
    return Conditions(
        method=request.method, range=range_, if_range=if_range, if_none_match=if_none_match
    )


DownloadConditions = Annotated[Conditions, Depends(_conditions)]
"""The request's method and its ``Range``/``If-Range``/``If-None-Match`` headers."""
