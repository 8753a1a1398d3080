"""``/api/v1/api-keys``: create, list and revoke API keys."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from devgen.kit.deps import Session
from devgen.kit.errors import Forbidden, NotFound, Unauthorized, ValidationFailed, error_responses
from devgen.kit.pagination import Page, paginate_offset
from devgen.kit.responses import Envelope, ListEnvelope
from devgen.services.identity import api_keys, repository
from devgen.services.identity.deps import Active
from devgen.services.identity.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyRead

router = APIRouter(
    prefix="/api/v1/api-keys",
    tags=["api-keys"],
    responses=error_responses(Unauthorized, Forbidden),
)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=Envelope[ApiKeyCreated],
    responses=error_responses(ValidationFailed),
)
async def create_api_key(
    body: ApiKeyCreate, session: Session, context: Active
) -> Envelope[ApiKeyCreated]:
    """Create a key with some of your scopes; its secret is shown only in this answer."""
    return Envelope(data=await api_keys.create_key(session, context.principal, body))


@router.get("", response_model=ListEnvelope[ApiKeyRead])
async def list_api_keys(session: Session, context: Active, page: Page) -> ListEnvelope[ApiKeyRead]:
    """Your keys in this tenant (admins see every key of the tenant)."""
    assert context.principal.tenant_id is not None
    query = repository.api_keys_of_tenant(
        context.principal.tenant_id, api_keys.visible_owner(context.principal)
    )
    result = await paginate_offset(session, query, page)
    return ListEnvelope(data=[api_keys.to_read(k) for k in result.items], metadata=result.metadata)


@router.delete(
    "/{key_id}",
    response_model=Envelope[ApiKeyRead],
    responses=error_responses(NotFound),
)
async def revoke_api_key(
    key_id: uuid.UUID, session: Session, context: Active
) -> Envelope[ApiKeyRead]:
    """Revoke a key; it stops working at once."""
    return Envelope(
        data=api_keys.to_read(await api_keys.revoke_key(session, context.principal, key_id))
    )
