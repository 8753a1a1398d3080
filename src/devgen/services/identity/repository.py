"""Identity's queries. Anything tenant-owned is looked up with its tenant id."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from devgen.kit.db import utcnow
from devgen.services.identity.models import (
    ApiKey,
    Invitation,
    LoginThrottle,
    Membership,
    RefreshFamily,
    RefreshToken,
    Tenant,
    User,
)


async def user_by_email(session: AsyncSession, email: str) -> User | None:
    """The account with this (normalised) e-mail."""
    return await session.scalar(select(User).where(User.email == email))


async def user_by_id(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    """The account with this id."""
    return await session.get(User, user_id)


async def membership(
    session: AsyncSession, tenant_id: uuid.UUID, user_id: uuid.UUID
) -> Membership | None:
    """The user's membership in the tenant, if any."""
    return await session.scalar(
        select(Membership).where(Membership.tenant_id == tenant_id, Membership.user_id == user_id)
    )


async def default_membership(session: AsyncSession, user_id: uuid.UUID) -> Membership | None:
    """The membership a sign-in without a tenant uses: personal tenant first, then oldest."""
    return await session.scalar(
        select(Membership)
        .join(Tenant, Tenant.id == Membership.tenant_id)
        .where(Membership.user_id == user_id, Membership.suspended_at.is_(None))
        .order_by(Tenant.personal.desc(), Membership.created_at)
        .limit(1)
    )


# Checked on every authenticated identity request: the statement is built once (building
# it, not running it, was a third of the check's CPU) and only the values change.
_SESSION_CONTEXT = (
    select(User, Tenant, Membership, RefreshFamily)
    .join(Membership, Membership.user_id == User.id)
    .join(Tenant, Tenant.id == Membership.tenant_id)
    .join(RefreshFamily, RefreshFamily.user_id == User.id)
    .where(
        User.id == bindparam("user_id"),
        Membership.tenant_id == bindparam("tenant_id"),
        RefreshFamily.id == bindparam("family_id"),
    )
)


async def session_context(
    session: AsyncSession, user_id: uuid.UUID, tenant_id: uuid.UUID, family_id: uuid.UUID
) -> tuple[User, Tenant, Membership, RefreshFamily] | None:
    """User, tenant, membership and login session in one round trip."""
    row = (
        await session.execute(
            _SESSION_CONTEXT,
            {"user_id": user_id, "tenant_id": tenant_id, "family_id": family_id},
        )
    ).first()
    return None if row is None else (row[0], row[1], row[2], row[3])


def memberships_of_tenant(tenant_id: uuid.UUID) -> Select[Any]:
    """Members of a tenant with their accounts, oldest first."""
    return (
        select(Membership, User)
        .join(User, User.id == Membership.user_id)
        .where(Membership.tenant_id == tenant_id)
        .order_by(Membership.created_at, Membership.id)
    )


async def tenants_of_user(session: AsyncSession, user_id: uuid.UUID) -> list[tuple[Tenant, str]]:
    """Tenants the user belongs to (not suspended) with their role, oldest first."""
    rows = await session.execute(
        select(Tenant, Membership.role)
        .join(Membership, Membership.tenant_id == Tenant.id)
        .where(Membership.user_id == user_id, Membership.suspended_at.is_(None))
        .order_by(Tenant.personal.desc(), Membership.created_at)
    )
    return [(tenant, role) for tenant, role in rows.all()]


async def count_owners(session: AsyncSession, tenant_id: uuid.UUID) -> int:
    """Active owners of the tenant."""
    count = await session.scalar(
        select(func.count())
        .select_from(Membership)
        .where(
            Membership.tenant_id == tenant_id,
            Membership.role == "owner",
            Membership.suspended_at.is_(None),
        )
    )
    return int(count or 0)


async def membership_by_email(
    session: AsyncSession, tenant_id: uuid.UUID, email: str
) -> Membership | None:
    """The membership in the tenant of the account with this (normalised) e-mail, if any."""
    return await session.scalar(
        select(Membership)
        .join(User, User.id == Membership.user_id)
        .where(Membership.tenant_id == tenant_id, User.email == email)
    )


def _invitations_in_state(query: Select[Any], state: str, now: datetime) -> Select[Any]:
    # "expired" is not stored: it is a pending invitation past its expiry.
    if state == "expired":
        return query.where(Invitation.state == "pending", Invitation.expires_at <= now)
    if state == "pending":
        return query.where(Invitation.state == "pending", Invitation.expires_at > now)
    return query.where(Invitation.state == state)


async def open_invitation(
    session: AsyncSession, tenant_id: uuid.UUID, email: str
) -> Invitation | None:
    """The tenant's pending, unexpired invitation of this (normalised) e-mail, if any."""
    query = select(Invitation).where(Invitation.tenant_id == tenant_id, Invitation.email == email)
    return await session.scalar(_invitations_in_state(query, "pending", utcnow()).limit(1))


async def invitation_in_tenant(
    session: AsyncSession, tenant_id: uuid.UUID, invitation_id: uuid.UUID
) -> Invitation | None:
    """An invitation of the tenant by id."""
    return await session.scalar(
        select(Invitation).where(Invitation.id == invitation_id, Invitation.tenant_id == tenant_id)
    )


def invitations_of_tenant(tenant_id: uuid.UUID, state: str | None) -> Select[Any]:
    """A tenant's invitations (in one state when given), newest first."""
    query = select(Invitation).where(Invitation.tenant_id == tenant_id)
    if state is not None:
        query = _invitations_in_state(query, state, utcnow())
    return query.order_by(Invitation.created_at.desc(), Invitation.id)


async def invitation_by_id(session: AsyncSession, invitation_id: uuid.UUID) -> Invitation | None:
    """An invitation by id, whatever its tenant (the caller checks the addressee)."""
    return await session.get(Invitation, invitation_id)


async def invitation_by_token_hash(session: AsyncSession, token_hash: str) -> Invitation | None:
    """The invitation whose token hashes to ``token_hash``."""
    return await session.scalar(select(Invitation).where(Invitation.token_hash == token_hash))


async def open_invitations_for(
    session: AsyncSession, email: str
) -> list[tuple[Invitation, Tenant]]:
    """Pending, unexpired invitations addressed to this (normalised) e-mail, newest first."""
    query = (
        select(Invitation, Tenant)
        .join(Tenant, Tenant.id == Invitation.tenant_id)
        .where(Invitation.email == email)
        .order_by(Invitation.created_at.desc(), Invitation.id)
    )
    rows = await session.execute(_invitations_in_state(query, "pending", utcnow()))
    return [(invitation, tenant) for invitation, tenant in rows.all()]


async def close_invitation(
    session: AsyncSession, invitation_id: uuid.UUID, state: str, when: datetime
) -> bool:
    """Move a pending invitation to ``state``; False when it was no longer pending."""
    result = await session.execute(
        update(Invitation)
        .where(Invitation.id == invitation_id, Invitation.state == "pending")
        .values(state=state, closed_at=when)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def refresh_token_by_hash(
    session: AsyncSession, token_hash: str
) -> tuple[RefreshToken, RefreshFamily] | None:
    """A refresh token and its family, locked for update where the database can."""
    row = (
        await session.execute(
            select(RefreshToken, RefreshFamily)
            .join(RefreshFamily, RefreshFamily.id == RefreshToken.family_id)
            .where(RefreshToken.token_hash == token_hash)
            .with_for_update()
        )
    ).first()
    return None if row is None else (row[0], row[1])


async def mark_refresh_used(session: AsyncSession, token_id: uuid.UUID) -> bool:
    """Mark a refresh token used; False when someone else used it first."""
    result = await session.execute(
        update(RefreshToken)
        .where(RefreshToken.id == token_id, RefreshToken.used_at.is_(None))
        .values(used_at=utcnow())
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def revoke_families(
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    reason: str,
    tenant_id: uuid.UUID | None = None,
    family_id: uuid.UUID | None = None,
) -> int:
    """Revoke the user's live login sessions (optionally one tenant's, or one)."""
    query = update(RefreshFamily).where(
        RefreshFamily.user_id == user_id, RefreshFamily.revoked_at.is_(None)
    )
    if tenant_id is not None:
        query = query.where(RefreshFamily.tenant_id == tenant_id)
    if family_id is not None:
        query = query.where(RefreshFamily.id == family_id)
    result = await session.execute(query.values(revoked_at=utcnow(), revoke_reason=reason))
    return int(result.rowcount)  # type: ignore[attr-defined]


async def api_key_by_hash(
    session: AsyncSession, secret_hash: str
) -> tuple[ApiKey, User, Membership | None] | None:
    """An API key with its owner and the owner's membership in the key's tenant."""
    row = (
        await session.execute(
            select(ApiKey, User, Membership)
            .join(User, User.id == ApiKey.user_id)
            .outerjoin(
                Membership,
                (Membership.user_id == ApiKey.user_id) & (Membership.tenant_id == ApiKey.tenant_id),
            )
            .where(ApiKey.secret_hash == secret_hash)
        )
    ).first()
    return None if row is None else (row[0], row[1], row[2])


async def api_key_in_tenant(
    session: AsyncSession, tenant_id: uuid.UUID, key_id: uuid.UUID
) -> ApiKey | None:
    """An API key of the tenant by id."""
    return await session.scalar(
        select(ApiKey).where(ApiKey.id == key_id, ApiKey.tenant_id == tenant_id)
    )


def api_keys_of_tenant(tenant_id: uuid.UUID, user_id: uuid.UUID | None) -> Select[Any]:
    """A tenant's API keys (only one user's when ``user_id`` is given), newest first."""
    query = select(ApiKey).where(ApiKey.tenant_id == tenant_id)
    if user_id is not None:
        query = query.where(ApiKey.user_id == user_id)
    return query.order_by(ApiKey.created_at.desc(), ApiKey.id)


async def revoke_api_keys(
    session: AsyncSession, *, user_id: uuid.UUID, tenant_id: uuid.UUID | None = None
) -> None:
    """Revoke a user's API keys (in one tenant when given)."""
    query = update(ApiKey).where(ApiKey.user_id == user_id, ApiKey.revoked_at.is_(None))
    if tenant_id is not None:
        query = query.where(ApiKey.tenant_id == tenant_id)
    await session.execute(query.values(revoked_at=utcnow()))


async def live_api_keys_of_user(session: AsyncSession, user_id: uuid.UUID) -> list[ApiKey]:
    """The user's API keys that are not revoked, in every tenant."""
    return list(
        await session.scalars(
            select(ApiKey).where(ApiKey.user_id == user_id, ApiKey.revoked_at.is_(None))
        )
    )


async def throttle_for(session: AsyncSession, email: str) -> LoginThrottle | None:
    """The failed-login record of an e-mail address."""
    return await session.get(LoginThrottle, email)


async def touch_api_key(session: AsyncSession, key_id: uuid.UUID, when: datetime) -> None:
    """Record that a key was used."""
    await session.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=when))
