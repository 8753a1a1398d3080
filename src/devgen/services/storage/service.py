"""The rules of files: what an upload becomes, who sees it, and what deleting it leaves.

An upload is streamed to a staging file and hashed on the way in (see
``uploads``); its name and labels are checked, its type decided from its
bytes (``sniff``), and only then is anything written: the blob's reference
count, the bytes if the store lacks them, the file's row. A refused upload
therefore stores nothing. Deleting a file drops one reference; the bytes go
once nothing refers to them (``blobs``).
"""

from __future__ import annotations

import re
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from devgen.kit.auth import Principal
from devgen.kit.db import utcnow
from devgen.kit.errors import NotFound, ValidationFailed
from devgen.services.storage import blobs, repository
from devgen.services.storage.access import require_deleter, tenant_of
from devgen.services.storage.events import StorageEvent, emit
from devgen.services.storage.labels import LabelError, parse_labels_field
from devgen.services.storage.models import File
from devgen.services.storage.schemas import FileRead
from devgen.services.storage.sniff import sniff
from devgen.services.storage.state import StorageState
from devgen.services.storage.uploads import MultipartUpload, StagedFile

FILES_PATH = "/api/v1/files"
MAX_NAME_LENGTH = 255
UPLOAD_FIELDS = frozenset({"name", "labels"})
MAX_DECLARED_TYPE_LENGTH = 255
INLINE_LOOKUP_BYTES = 1024 * 1024
"""The largest inline limit settings allow: a larger file's bytes are always in the store."""
# type/subtype and optional parameters, printable ASCII only (no NUL for PostgreSQL).
_MEDIA_TYPE = re.compile(r"^[A-Za-z0-9!#$&^_.+-]+/[A-Za-z0-9!#$&^_.+-]+(;[\x20-\x7e]*)?$")


def to_read(file: File) -> FileRead:
    """The API's view of a file."""
    return FileRead(
        id=file.id,
        name=file.name,
        content_type=file.content_type,
        declared_content_type=file.declared_content_type,
        size=file.size,
        sha256=file.sha256,
        owner_id=file.owner_id,
        labels={label.key: label.value for label in file.labels},
        created_at=file.created_at,
        content_url=f"{FILES_PATH}/{file.id}/content",
    )


def clean_name(raw: str | None) -> str:
    """The name to store: the last segment of what the client sent, checked.

    Some clients send a whole path as the file name; only its last segment
    names the file. Empty, over-long or control-character names are refused.
    """
    name = (raw or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    if not name or name in {".", ".."}:
        raise ValidationFailed(
            "The file needs a name (send a file name, or a `name` field).",
            details={"field": "name", "reason": "missing"},
        )
    if len(name) > MAX_NAME_LENGTH or any(ord(c) < 0x20 or ord(c) == 0x7F for c in name):
        raise ValidationFailed(
            f"The file name must be one line of at most {MAX_NAME_LENGTH} characters.",
            details={"field": "name", "reason": "invalid"},
        )
    return name


def _labels(raw: str | None, max_labels: int) -> dict[str, str]:
    if raw is None or not raw.strip():
        return {}
    try:
        return parse_labels_field(raw, max_labels)
    except LabelError as exc:
        raise ValidationFailed(str(exc), details={"field": "labels"}) from exc


def _declared_type(raw: str | None) -> str | None:
    """The client's ``Content-Type`` for the part, kept only if it reads as one."""
    value = (raw or "").strip()
    if not value or len(value) > MAX_DECLARED_TYPE_LENGTH or not _MEDIA_TYPE.match(value):
        return None
    return value


async def store_upload(
    session: AsyncSession, state: StorageState, principal: Principal, received: MultipartUpload
) -> FileRead:
    """Check a received upload (``file``, optional ``name`` and ``labels``) and store it.

    The caller discards the staging file afterwards, whatever happened.
    """
    tenant_id = tenant_of(principal)
    staged = received.file
    name = clean_name(received.fields.get("name") or staged.filename)
    labels = _labels(received.fields.get("labels"), state.settings.storage_max_labels)
    declared = _declared_type(staged.declared_type)
    content_type = sniff(staged.head, declared, complete=staged.size == len(staged.head))
    return await _store(
        session, state, principal, tenant_id, staged, name, labels, content_type, declared
    )


async def _store(
    session: AsyncSession,
    state: StorageState,
    principal: Principal,
    tenant_id: uuid.UUID,
    staged: StagedFile,
    name: str,
    labels: dict[str, str],
    content_type: str,
    declared: str | None,
) -> FileRead:
    source = staged.data if staged.data is not None else staged.path
    assert source is not None  # a StagedFile holds one or the other
    stored_now = await blobs.add_reference(
        session,
        state.store,
        staged.sha256,
        staged.size,
        source,
        inline_max_bytes=state.settings.storage_inline_max_bytes,
    )
    if stored_now:
        blobs.reap_if_rolled_back(session, state.database, state.store, staged.sha256)
    try:
        now, file_id = utcnow(), uuid.uuid4()
        values = {
            "id": file_id,
            "tenant_id": tenant_id,
            "owner_id": principal.user_id,
            "name": name,
            "content_type": content_type,
            "declared_content_type": declared,
            "size": staged.size,
            "sha256": staged.sha256,
            "created_at": now,
            "updated_at": now,
        }
        ordered = dict(sorted(labels.items()))
        await repository.insert_file(session, values, ordered)
        await emit(
            session,
            StorageEvent.file_uploaded,
            principal,
            str(file_id),
            {
                "file_id": str(file_id),
                "sha256": staged.sha256,
                "size": staged.size,
                "content_type": content_type,
            },
        )
    except BaseException:
        if stored_now:
            await blobs.undo_store(state.store, staged.sha256)
        raise
    return FileRead(
        id=file_id,
        name=name,
        content_type=content_type,
        declared_content_type=declared,
        size=staged.size,
        sha256=staged.sha256,
        owner_id=principal.user_id,
        labels=ordered,
        created_at=now,
        content_url=f"{FILES_PATH}/{file_id}/content",
    )


async def inline_content(session: AsyncSession, file: File) -> bytes | None:
    """The file's bytes if its blob's row holds them; None when they are in the blob store.

    Only a file small enough to have been kept inline (under any limit the
    settings allow) is looked up.
    """
    if file.size > INLINE_LOOKUP_BYTES or file.size == 0:
        return None
    return await repository.inline_content(session, file.sha256)


async def get_file(session: AsyncSession, principal: Principal, file_id: uuid.UUID) -> File:
    """The caller's tenant's file; 404 when there is none (or it is another tenant's)."""
    file = await repository.file_of_tenant(session, tenant_of(principal), file_id)
    if file is None:
        raise NotFound("There is no such file.")
    return file


async def delete_file(session: AsyncSession, principal: Principal, file_id: uuid.UUID) -> str:
    """Delete the file; returns its blob's key, to ``collect`` once the transaction commits."""
    file = await get_file(session, principal, file_id)
    require_deleter(principal, file.owner_id)
    sha256 = file.sha256
    await session.delete(file)
    await session.flush()
    await blobs.drop_reference(session, sha256)
    await emit(
        session,
        StorageEvent.file_deleted,
        principal,
        str(file_id),
        {"file_id": str(file_id), "sha256": sha256},
    )
    return sha256
