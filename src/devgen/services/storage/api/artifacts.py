"""``/api/v1/artifacts``: store generated projects, read their manifests, files and zips."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Header, Query, Request, Response, status
from python_multipart.multipart import parse_options_header

from devgen.kit.deps import KnownQueryParameters, Session
from devgen.kit.errors import (
    BadRequest,
    Conflict,
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
from devgen.services.storage import artifacts, blobs
from devgen.services.storage.api.common import (
    BINARY_SCHEMA,
    DOWNLOAD_RESPONSES,
    DownloadConditions,
)
from devgen.services.storage.deps import Reader, Writer
from devgen.services.storage.downloads import blob_response, stream_response
from devgen.services.storage.models import Artifact
from devgen.services.storage.ranges import RangeNotSatisfiable
from devgen.services.storage.repository import ArtifactFilters, artifacts_of_tenant
from devgen.services.storage.schemas import (
    ArtifactCreate,
    ArtifactManifestIn,
    ArtifactRead,
    ArtifactSummary,
    Instant,
)
from devgen.services.storage.state import State
from devgen.services.storage.uploads import is_multipart, read_body, receive_multipart

router = APIRouter(
    prefix="/api/v1/artifacts",
    tags=["artifacts"],
    dependencies=[KnownQueryParameters],
    responses=error_responses(Unauthorized, Forbidden, ValidationFailed),
)

_CREATE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": ArtifactCreate.model_json_schema()},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["archive"],
                    "properties": {
                        "archive": {**BINARY_SCHEMA, "description": "The project as a zip."},
                        "manifest": {
                            "type": "string",
                            "description": "JSON object with the manifest fields: "
                            + ", ".join(ArtifactManifestIn.model_fields),
                        },
                    },
                }
            },
        },
    }
}

_ZIP_RESPONSES = {
    **DOWNLOAD_RESPONSES,
    200: {"description": "The zip.", "content": {"application/zip": {"schema": BINARY_SCHEMA}}},
    **error_responses(NotFound, RangeNotSatisfiable, ServiceUnavailable),
}
_FILE_RESPONSES = {
    200: {
        "description": "The file's bytes.",
        "content": {"application/octet-stream": {"schema": BINARY_SCHEMA}},
    },
    **error_responses(NotFound, ServiceUnavailable),
}


def _is_json(request: Request) -> bool:
    media_type, _ = parse_options_header(request.headers.get("content-type", "").encode("latin-1"))
    return media_type == b"application/json"


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=Envelope[ArtifactRead],
    openapi_extra=_CREATE_BODY,
    responses=error_responses(
        BadRequest, Conflict, PayloadTooLarge, UnsupportedMediaType, ValidationFailed
    ),
)
async def create_artifact(
    request: Request,
    response: Response,
    session: Session,
    principal: Writer,
    state: State,
    idempotency_key: Annotated[
        str | None,
        Header(
            max_length=artifacts.MAX_IDEMPOTENCY_KEY_LENGTH,
            pattern=r"^[\x21-\x7e]+$",
            description="Send the same key when retrying: the first artifact is returned again.",
        ),
    ] = None,
) -> Envelope[ArtifactRead]:
    """Store a generated project: JSON (`files` as path → text, plus the manifest fields) or
    `multipart/form-data` with the project as a zip in `archive` and the manifest fields as a
    JSON object in `manifest`.

    Paths must be relative, without `..`, and distinct (ignoring case);
    file count and total size are limited (413). A zip is read back safely:
    unsafe paths, symlinks, encrypted entries and archives that expand too
    far are refused (422). Either way the project is stored as a
    deterministic zip, so the same files give the same `archive_sha256`.
    With an `Idempotency-Key`, a retry gets the same artifact (and the
    header `Idempotency-Replayed: true`); the key reused for a different
    project is a 409.
    """
    key = artifacts.check_idempotency_key(idempotency_key)
    if is_multipart(request):
        received = await receive_multipart(
            request,
            file_field="archive",
            text_fields=frozenset({"manifest"}),
            max_file_bytes=state.settings.storage_max_archive_bytes,
            staging=state.staging,
            in_memory=False,  # a zip is read from its file
        )
        try:
            project = await artifacts.project_from_zip(received, state)
        finally:
            received.file.discard()
    elif _is_json(request):
        body = await read_body(request, state.settings.max_artifact_json_bytes)
        project = artifacts.project_from_json(body, state)
    else:
        raise UnsupportedMediaType(
            "Send the project as application/json or as a zip in multipart/form-data."
        )
    artifact, replayed = await artifacts.create(session, state, principal, project, key)
    if replayed:
        response.headers["Idempotency-Replayed"] = "true"
    response.headers["Location"] = f"{artifacts.ARTIFACTS_PATH}/{artifact.id}"
    return Envelope(data=artifact)


@router.get(
    "", response_model=ListEnvelope[ArtifactSummary], responses=error_responses(ValidationFailed)
)
async def list_artifacts(
    session: Session,
    principal: Reader,
    page: CursorPage,
    run_id: Annotated[uuid.UUID | None, Query(description="Only this run's artifacts.")] = None,
    engine: Annotated[str | None, Query(max_length=64)] = None,
    created_after: Instant | None = None,
    created_before: Instant | None = None,
) -> ListEnvelope[ArtifactSummary]:
    """Your tenant's artifacts, newest first."""
    assert principal.tenant_id is not None
    query = artifacts_of_tenant(
        principal.tenant_id,
        ArtifactFilters(
            run_id=run_id,
            engine=engine,
            created_after=created_after,
            created_before=created_before,
        ),
    )
    result = await paginate_cursor(
        session,
        query,
        page,
        sort_column=Artifact.created_at,
        id_column=Artifact.id,
        descending=True,
    )
    return ListEnvelope(
        data=[artifacts.to_summary(item) for item in result.items], metadata=result.metadata
    )


@router.get(
    "/{artifact_id}", response_model=Envelope[ArtifactRead], responses=error_responses(NotFound)
)
async def get_artifact(
    artifact_id: uuid.UUID, session: Session, principal: Reader
) -> Envelope[ArtifactRead]:
    """The manifest: every file with its size and SHA-256, the spec, engine, versions, run."""
    artifact = await artifacts.get(session, principal, artifact_id, with_files=True)
    return Envelope(data=artifacts.to_read(artifact))


@router.get("/{artifact_id}/download", response_class=Response, responses=_ZIP_RESPONSES)
async def download_artifact(
    artifact_id: uuid.UUID,
    session: Session,
    principal: Reader,
    state: State,
    conditions: DownloadConditions,
) -> Response:
    """The project as its deterministic zip, streamed (`Range` honoured)."""
    artifact = await artifacts.get(session, principal, artifact_id)
    return await blob_response(
        state.store,
        sha256=artifact.archive_sha256,
        size=artifact.archive_size,
        content_type="application/zip",
        filename=f"{artifact.name}.zip",
        conditions=conditions,
    )


@router.get("/{artifact_id}/files/{path:path}", response_class=Response, responses=_FILE_RESPONSES)
async def get_artifact_file(
    artifact_id: uuid.UUID,
    path: str,
    session: Session,
    principal: Reader,
    state: State,
) -> Response:
    """One file of the project, read out of the stored zip."""
    opened = await artifacts.open_file(session, state, principal, artifact_id, path)
    record = opened.record
    return stream_response(
        opened.chunks,
        size=record.size,
        sha256=record.sha256,
        content_type=record.content_type,
        filename=record.path.rsplit("/", 1)[-1],
    )


@router.delete(
    "/{artifact_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=error_responses(NotFound),
)
async def delete_artifact(
    artifact_id: uuid.UUID,
    session: Session,
    principal: Writer,
    state: State,
    background: BackgroundTasks,
) -> Response:
    """Delete an artifact (yours, or any as a tenant admin); its zip goes once nothing uses it."""
    sha256 = await artifacts.delete(session, principal, artifact_id)
    # Runs after the response, so after the transaction has committed.
    background.add_task(blobs.collect_quietly, state.database, state.store, [sha256])
    return Response(status_code=status.HTTP_204_NO_CONTENT)
