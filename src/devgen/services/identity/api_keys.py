"""API keys: long-lived, scoped credentials for scripts and CI."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from devgen.kit.auth.principal import Principal
from devgen.kit.db import utcnow
from devgen.kit.errors import Forbidden, NotFound, ValidationFailed
from devgen.services.identity import events, repository
from devgen.services.identity.models import ApiKey
from devgen.services.identity.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyRead
from devgen.services.identity.tenancy import require_person
from devgen.services.identity.tokens import hash_secret, new_api_key_secret

_DISPLAY_PREFIX_LENGTH = 12


def to_read(key: ApiKey) -> ApiKeyRead:
    """The public view of a key (never its secret)."""
    return ApiKeyRead(
        id=key.id,
        name=key.name,
        prefix=key.prefix,
        scopes=key.scopes.split(),
        created_at=key.created_at,
        expires_at=key.expires_at,
        revoked_at=key.revoked_at,
        last_used_at=key.last_used_at,
    )


async def create_key(
    session: AsyncSession, principal: Principal, request: ApiKeyCreate
) -> ApiKeyCreated:
    """A new key for the caller in the current tenant; the secret is returned once."""
    user_id = require_person(principal)
    assert principal.tenant_id is not None
    excess = set(request.scopes) - principal.scopes
    if excess:
        raise Forbidden(f"You cannot grant scopes you do not have: {sorted(excess)}.")
    if request.expires_at is not None and request.expires_at <= utcnow():
        raise ValidationFailed("expires_at must be in the future.", details={"field": "expires_at"})
    secret = new_api_key_secret()
    key = ApiKey(
        tenant_id=principal.tenant_id,
        user_id=user_id,
        name=request.name,
        prefix=secret[:_DISPLAY_PREFIX_LENGTH],
        secret_hash=hash_secret(secret),
        scopes=" ".join(request.scopes),
        created_at=utcnow(),
        expires_at=request.expires_at,
    )
    session.add(key)
    await session.flush()
    await events.api_key_created(session, key)
    return ApiKeyCreated(**to_read(key).model_dump(), secret=secret)


def visible_owner(principal: Principal) -> uuid.UUID | None:
    """Whose keys the caller sees: everyone's for admins, their own otherwise."""
    return None if principal.has_role("admin") else require_person(principal)


async def revoke_key(session: AsyncSession, principal: Principal, key_id: uuid.UUID) -> ApiKey:
    """Revoke a key of the caller (admins: any key of the tenant)."""
    assert principal.tenant_id is not None
    key = await repository.api_key_in_tenant(session, principal.tenant_id, key_id)
    owner = visible_owner(principal)
    if key is None or (owner is not None and key.user_id != owner):
        raise NotFound("API key not found.")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        await session.flush()
        await events.api_key_revoked(session, key, reason="requested")
    return key
