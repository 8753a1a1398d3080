"""Tenants, members and users: who belongs where, with which role.

Every operation on a tenant acts on the tenant of the caller's token (the
roles in a token are for that tenant only); naming any other tenant gives
404, as if it did not exist.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from devgen.kit.auth.principal import ROLE_RANK, Principal, PrincipalKind
from devgen.kit.db import utcnow
from devgen.kit.errors import Conflict, Forbidden, NotFound
from devgen.services.identity import events, repository
from devgen.services.identity.models import Membership, Tenant, User
from devgen.services.identity.schemas import DisableResult


def require_person(principal: Principal) -> uuid.UUID:
    """The user behind the call; API keys cannot manage people or tenants."""
    if principal.kind is not PrincipalKind.user or principal.user_id is None:
        raise Forbidden("API keys cannot manage tenants or members; sign in as a user.")
    return principal.user_id


def own_tenant(principal: Principal, tenant_id: uuid.UUID) -> uuid.UUID:
    """``tenant_id`` if it is the caller's current tenant; 404 otherwise."""
    if principal.tenant_id != tenant_id:
        raise NotFound("Tenant not found.")
    return tenant_id


async def create_tenant(session: AsyncSession, principal: Principal, name: str) -> Tenant:
    """A new tenant owned by the caller."""
    user_id = require_person(principal)
    tenant = Tenant(name=name, personal=False)
    session.add(tenant)
    await session.flush()
    session.add(Membership(tenant_id=tenant.id, user_id=user_id, role="owner"))
    await session.flush()
    await events.tenant_created(session, tenant, user_id)
    return tenant


async def get_tenant(session: AsyncSession, principal: Principal, tenant_id: uuid.UUID) -> Tenant:
    """A tenant the caller belongs to."""
    user_id = principal.user_id
    membership = await repository.membership(session, tenant_id, user_id) if user_id else None
    if membership is None or membership.suspended_at is not None:
        raise NotFound("Tenant not found.")
    tenant = await session.get(Tenant, tenant_id)
    if tenant is None:
        raise NotFound("Tenant not found.")
    return tenant


def check_may_manage(principal: Principal, target_role: str, new_role: str | None = None) -> None:
    """Refuse (403) a non-owner touching an owner or granting ownership (inviting included)."""
    touches_owner = target_role == "owner" or new_role == "owner"
    if touches_owner and not principal.has_role("owner"):
        raise Forbidden("Only an owner can change an owner or grant ownership.")


async def _member(
    session: AsyncSession, tenant_id: uuid.UUID, user_id: uuid.UUID
) -> tuple[Membership, User]:
    membership = await repository.membership(session, tenant_id, user_id)
    user = await repository.user_by_id(session, user_id) if membership else None
    if membership is None or user is None:
        raise NotFound("Member not found.")
    return membership, user


async def change_role(
    session: AsyncSession,
    principal: Principal,
    tenant_id: uuid.UUID,
    user_id: uuid.UUID,
    role: str,
) -> tuple[Membership, User]:
    """Give a member another role; the last owner stays an owner."""
    own_tenant(principal, tenant_id)
    membership, user = await _member(session, tenant_id, user_id)
    check_may_manage(principal, membership.role, role)
    if membership.role == "owner" and role != "owner":
        await _keep_an_owner(session, tenant_id)
    previous = membership.role
    membership.role = role
    if ROLE_RANK[role] < ROLE_RANK[previous]:
        # Tokens carry the role; sessions with the stronger one must end.
        await repository.revoke_families(
            session, user_id=user_id, tenant_id=tenant_id, reason="role_changed"
        )
    await session.flush()
    if previous != role:
        await events.member_role_changed(session, membership, previous)
    return membership, user


async def _keep_an_owner(session: AsyncSession, tenant_id: uuid.UUID) -> None:
    if await repository.count_owners(session, tenant_id) <= 1:
        raise Conflict("The last owner of a tenant cannot be removed or demoted.")


async def remove_member(
    session: AsyncSession, principal: Principal, tenant_id: uuid.UUID, user_id: uuid.UUID
) -> None:
    """Remove a member (admins remove others; anyone may leave)."""
    own_tenant(principal, tenant_id)
    membership, _user = await _member(session, tenant_id, user_id)
    leaving = principal.user_id == user_id
    if not leaving and not principal.has_role("admin"):
        raise Forbidden("This needs the admin role in the tenant.")
    if not leaving:
        check_may_manage(principal, membership.role)
    if membership.role == "owner":
        await _keep_an_owner(session, tenant_id)
    await repository.revoke_families(
        session, user_id=user_id, tenant_id=tenant_id, reason="member_removed"
    )
    await repository.revoke_api_keys(session, user_id=user_id, tenant_id=tenant_id)
    await events.member_removed(session, membership, left=leaving)
    await session.delete(membership)
    await session.flush()


async def member_of_tenant(
    session: AsyncSession, principal: Principal, user_id: uuid.UUID
) -> tuple[Membership, User]:
    """A user of the caller's tenant (404 for anyone else)."""
    assert principal.tenant_id is not None
    return await _member(session, principal.tenant_id, user_id)


async def set_active(
    session: AsyncSession, principal: Principal, user_id: uuid.UUID, *, active: bool
) -> DisableResult:
    """Disable or re-enable a user.

    A platform administrator disables the account itself. A tenant
    administrator suspends the user's membership of the tenant only: a
    tenant must not be able to lock a person out of everything else.
    Either way the affected sessions and API keys are revoked.
    """
    if principal.user_id == user_id:
        raise Conflict("You cannot disable yourself.")
    membership, user = await member_of_tenant(session, principal, user_id)
    if principal.platform_admin:
        user.is_active = active
        user.disabled_at = None if active else utcnow()
        if not active:
            await repository.revoke_families(session, user_id=user_id, reason="user_disabled")
            await repository.revoke_api_keys(session, user_id=user_id)
        await session.flush()
        await events.user_active_changed(session, user_id, active=active, scope="account")
        return DisableResult(user_id=user_id, scope="account", active=active)
    check_may_manage(principal, membership.role)
    if not active and membership.role == "owner":
        await _keep_an_owner(session, membership.tenant_id)
    membership.suspended_at = None if active else utcnow()
    if not active:
        await repository.revoke_families(
            session, user_id=user_id, tenant_id=membership.tenant_id, reason="user_disabled"
        )
        await repository.revoke_api_keys(session, user_id=user_id, tenant_id=membership.tenant_id)
    await session.flush()
    await events.user_active_changed(session, user_id, active=active, scope="tenant")
    return DisableResult(user_id=user_id, scope="tenant", active=active)
