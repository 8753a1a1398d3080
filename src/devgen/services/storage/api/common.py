"""Pieces the storage routes share: OpenAPI descriptions and download conditions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.routing import APIRoute

from devgen.kit.errors import ValidationFailed
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


def _query_names(route: APIRoute) -> frozenset[str]:
    names: set[str] = set()
    pending = [route.dependant]
    while pending:
        dependant = pending.pop()
        names.update(param.alias for param in dependant.query_params)
        pending.extend(dependant.dependencies)
    return frozenset(names)


async def reject_unknown_query(request: Request) -> None:
    """422 for a query parameter the route does not take.

    A mistyped filter (``labels=`` for ``label=``) would otherwise be ignored
    and the answer would look like a match for it.
    """
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    unknown = sorted(set(request.query_params) - _query_names(route))
    if unknown:
        raise ValidationFailed(
            f"Unknown query parameters: {', '.join(repr(name[:50]) for name in unknown[:5])}.",
            details={"unknown": [name[:50] for name in unknown[:5]]},
        )
