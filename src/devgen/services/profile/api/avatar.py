"""``/api/v1/profiles/me/avatar``: upload, fetch and remove the caller's avatar."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Header, Request, Response, UploadFile, status

from devgen.kit.deps import Session
from devgen.kit.errors import (
    BadRequest,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    Unauthorized,
    UnsupportedMediaType,
    ValidationFailed,
    error_responses,
)
from devgen.kit.responses import Envelope
from devgen.services.profile import service
from devgen.services.profile.deps import ReadingOwner, WritingOwner
from devgen.services.profile.images import OUTPUT_CONTENT_TYPE
from devgen.services.profile.schemas import AvatarRead
from devgen.services.profile.state import State

router = APIRouter(
    prefix="/api/v1/profiles/me/avatar",
    tags=["profiles"],
    responses=error_responses(Unauthorized, Forbidden),
)

_IMAGE_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The avatar image (always PNG).",
        "content": {OUTPUT_CONTENT_TYPE: {"schema": {"type": "string", "format": "binary"}}},
    },
    304: {"description": "Not modified (the `If-None-Match` ETag still matches)."},
}


async def _multipart_only(request: Request) -> None:
    # Without this a JSON or raw-bytes upload would read as "field required".
    content_type = request.headers.get("content-type", "")
    if content_type.split(";", 1)[0].strip().lower() != "multipart/form-data":
        raise UnsupportedMediaType("Send the image as multipart/form-data in a field named `file`.")


def _matches(if_none_match: str, etag: str) -> bool:
    # RFC 9110: If-None-Match compares weakly, and "*" matches any current representation.
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in tags or etag in tags


@router.put(
    "",
    response_model=Envelope[AvatarRead],
    dependencies=[Depends(_multipart_only)],
    responses=error_responses(BadRequest, PayloadTooLarge, UnsupportedMediaType, ValidationFailed),
)
async def upload_my_avatar(
    file: Annotated[UploadFile, File(description="A PNG, JPEG or WebP image.")],
    session: Session,
    owner: WritingOwner,
    state: State,
) -> Envelope[AvatarRead]:
    """Replace your avatar with a PNG, JPEG or WebP image.

    The file's content decides, not its name or declared type. It is decoded,
    turned upright, stripped of all metadata, shrunk to fit 256x256 (by
    default) and stored as PNG. Too large: 413; not one of those formats: 415;
    corrupt: 422. A refused file changes nothing.
    """
    # One byte past the limit is enough to know the file is too large.
    raw = await file.read(state.avatar_limits.max_bytes + 1)
    return Envelope(data=await service.set_avatar(session, state, owner, raw))


@router.get(
    "",
    response_class=Response,
    responses={**_IMAGE_RESPONSE, **error_responses(NotFound)},
)
async def get_my_avatar(
    session: Session,
    owner: ReadingOwner,
    if_none_match: Annotated[str | None, Header(max_length=1024)] = None,
) -> Response:
    """Your avatar image, with its SHA-256 as ETag; 404 when you have none."""
    avatar = await service.avatar_with_data(session, owner)
    if avatar is None:
        raise NotFound("You have no avatar.")
    etag = f'"{avatar.sha256}"'
    headers = {
        "ETag": etag,
        # The URL is the same for everyone, so shared caches must never keep it.
        "Cache-Control": "private, no-cache",
        "X-Content-Type-Options": "nosniff",
        "Vary": "Authorization",
    }
    if if_none_match is not None and _matches(if_none_match, etag):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    return Response(content=avatar.data, media_type=avatar.content_type, headers=headers)


@router.delete("", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
async def delete_my_avatar(session: Session, owner: WritingOwner) -> Response:
    """Remove your avatar; answers 204 whether or not you had one."""
    await service.remove_avatar(session, owner)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
