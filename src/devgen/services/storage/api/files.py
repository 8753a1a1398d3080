"""``/api/v1/files``: upload, list, describe, download and delete files."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Query, Request, Response, status

from devgen.kit.deps import KnownQueryParameters, Session
from devgen.kit.errors import (
    BadRequest,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    ServiceUnavailable,
    Unauthorized,
    UnsupportedMediaType,
    ValidationFailed,
    error_responses,
)
from devgen.kit.pagination import CursorPage, paginate_cursor
from devgen.kit.responses import Envelope, ListEnvelope
from devgen.services.storage import blobs, service
from devgen.services.storage.api.common import (
    BINARY_SCHEMA,
    DOWNLOAD_RESPONSES,
    DownloadConditions,
)
from devgen.services.storage.deps import Reader, Writer
from devgen.services.storage.downloads import blob_response
from devgen.services.storage.labels import KEY_PATTERN, LabelError, parse_label_filter
from devgen.services.storage.models import File
from devgen.services.storage.ranges import RangeNotSatisfiable
from devgen.services.storage.repository import FileFilters, files_of_tenant
from devgen.services.storage.schemas import FileRead, Instant
from devgen.services.storage.state import State
from devgen.services.storage.uploads import receive_multipart

router = APIRouter(
    prefix="/api/v1/files",
    tags=["files"],
    dependencies=[KnownQueryParameters],
    responses=error_responses(Unauthorized, Forbidden, ValidationFailed),
)

_UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["file"],
                    "properties": {
                        "file": {**BINARY_SCHEMA, "description": "The file (with a file name)."},
                        "name": {
                            "type": "string",
                            "maxLength": 255,
                            "description": "A name to use instead of the file's own.",
                        },
                        "labels": {
                            "type": "string",
                            "description": 'Labels as a JSON object, e.g. `{"team": "core"}`.',
                        },
                    },
                }
            }
        },
    }
}

_LABEL_FILTER = KEY_PATTERN.removesuffix("$") + r"(=[^\x00-\x1f\x7f]{0,256})?$"
MAX_LABEL_FILTERS = 10


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=Envelope[FileRead],
    openapi_extra=_UPLOAD_BODY,
    responses=error_responses(BadRequest, PayloadTooLarge, UnsupportedMediaType, ValidationFailed),
)
async def upload_file(
    request: Request, session: Session, principal: Writer, state: State
) -> Envelope[FileRead]:
    """Upload one file as `multipart/form-data` (field `file`; optional `name` and `labels`).

    The body is streamed to disk and hashed as it arrives; identical content
    is stored once. The stored type is decided from the file's first bytes
    (PNG, JPEG, GIF, PDF, zip, gzip, JSON, text; otherwise
    `application/octet-stream`); a declared type that disagrees is ignored.
    Larger than `DEVGEN_STORAGE_MAX_FILE_BYTES`: 413. Nothing is stored when
    the upload is refused.
    """
    received = await receive_multipart(
        request,
        file_field="file",
        text_fields=service.UPLOAD_FIELDS,
        max_file_bytes=state.settings.storage_max_file_bytes,
        staging=state.staging,
    )
    try:
        return Envelope(data=await service.store_upload(session, state, principal, received))
    finally:
        received.file.discard()


@router.get("", response_model=ListEnvelope[FileRead], responses=error_responses(ValidationFailed))
async def list_files(
    session: Session,
    principal: Reader,
    page: CursorPage,
    name_prefix: Annotated[
        str | None, Query(max_length=255, description="Names starting with this.")
    ] = None,
    content_type: Annotated[
        str | None, Query(max_length=127, description="Exactly this stored type.")
    ] = None,
    label: Annotated[
        list[Annotated[str, Query(max_length=320, pattern=_LABEL_FILTER)]] | None,
        Query(
            max_length=MAX_LABEL_FILTERS,
            description="`key=value` or `key` (any value); repeat to require several.",
        ),
    ] = None,
    created_after: Annotated[
        Instant | None, Query(description="Created at or after (with a time zone).")
    ] = None,
    created_before: Annotated[
        Instant | None, Query(description="Created before (with a time zone).")
    ] = None,
) -> ListEnvelope[FileRead]:
    """Your tenant's files, newest first, narrowed by every filter given."""
    try:
        labels = tuple(parse_label_filter(raw) for raw in label or [])
    except LabelError as exc:
        raise ValidationFailed(str(exc), details={"field": "label"}) from exc
    assert principal.tenant_id is not None
    query = files_of_tenant(
        principal.tenant_id,
        FileFilters(
            name_prefix=name_prefix,
            content_type=content_type,
            labels=labels,
            created_after=created_after,
            created_before=created_before,
        ),
    )
    result = await paginate_cursor(
        session, query, page, sort_column=File.created_at, id_column=File.id, descending=True
    )
    return ListEnvelope(
        data=[service.to_read(file) for file in result.items], metadata=result.metadata
    )


@router.get("/{file_id}", response_model=Envelope[FileRead], responses=error_responses(NotFound))
async def get_file(file_id: uuid.UUID, session: Session, principal: Reader) -> Envelope[FileRead]:
    """A file's metadata: name, stored and declared type, size, SHA-256, owner, labels."""
    return Envelope(data=service.to_read(await service.get_file(session, principal, file_id)))


_DOWNLOAD_RESPONSES = {
    **DOWNLOAD_RESPONSES,
    **error_responses(NotFound, RangeNotSatisfiable, ServiceUnavailable),
}


@router.get("/{file_id}/content", response_class=Response, responses=_DOWNLOAD_RESPONSES)
@router.head("/{file_id}/content", response_class=Response, responses=_DOWNLOAD_RESPONSES)
async def download_file(
    file_id: uuid.UUID,
    session: Session,
    principal: Reader,
    state: State,
    conditions: DownloadConditions,
) -> Response:
    """The file's bytes, byte-identical to the upload, as an attachment.

    One `Range` is honoured (206 with `Content-Range`; 416 when it starts
    past the end); the ETag is the SHA-256, for `If-None-Match` and
    `If-Range`. `HEAD` answers the same headers without the bytes.
    """
    file = await service.get_file(session, principal, file_id)
    return await blob_response(
        state.store,
        sha256=file.sha256,
        size=file.size,
        content_type=file.content_type,
        filename=file.name,
        conditions=conditions,
        inline=await service.inline_content(session, file),
    )


@router.delete(
    "/{file_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=error_responses(NotFound),
)
async def delete_file(
    file_id: uuid.UUID,
    session: Session,
    principal: Writer,
    state: State,
    background: BackgroundTasks,
) -> Response:
    """Delete a file (yours, or any as a tenant admin); its content goes once nothing uses it."""
    sha256 = await service.delete_file(session, principal, file_id)
    # Runs after the response, so after the transaction has committed.
    background.add_task(blobs.collect_quietly, state.database, state.store, [sha256])
    return Response(status_code=status.HTTP_204_NO_CONTENT)
