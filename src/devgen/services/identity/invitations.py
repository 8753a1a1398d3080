"""Invitations: a tenant offers a role to an e-mail address; the person decides.

Nobody becomes a member of a tenant without saying so. An owner or admin
invites an address; the answer is the same whether or not an account with
that address exists (no user id, no 404 for strangers), so inviting cannot
be used to find out who has an account. The person signed in with that
address lists their invitations and accepts or declines; only accepting
creates the membership. The invitation's token (random, stored as its
SHA-256, single-use, expiring) can be sent out of band and accepted with,
but only by someone signed in as the invited address: to anyone else an
invitation does not exist (404).
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from devgen.kit.auth.principal import Principal
from devgen.kit.db import utcnow
from devgen.kit.errors import Conflict, NotFound
from devgen.services.identity import events, repository
from devgen.services.identity.models import Invitation, Membership, User
from devgen.services.identity.schemas import InvitationCreated, InvitationRead
from devgen.services.identity.service import normalise_email
from devgen.services.identity.tenancy import check_may_manage, own_tenant, require_person
from devgen.services.identity.tokens import hash_secret, new_invitation_token

_NOT_FOUND = "Invitation not found."


def to_read(invitation: Invitation) -> InvitationRead:
    """The public view of an invitation (never its token); expiry shows as ``expired``."""
    state = invitation.state
    if state == "pending" and invitation.expires_at <= utcnow():
        state = "expired"
    return InvitationRead(
        id=invitation.id,
        tenant_id=invitation.tenant_id,
        email=invitation.email,
        role=invitation.role,  # type: ignore[arg-type]
        state=state,  # type: ignore[arg-type]
        created_at=invitation.created_at,
        expires_at=invitation.expires_at,
        closed_at=invitation.closed_at,
    )


async def invite(
    session: AsyncSession,
    principal: Principal,
    tenant_id: uuid.UUID,
    email: str,
    role: str,
    *,
    ttl_seconds: int,
) -> InvitationCreated:
    """Invite ``email`` into the caller's tenant with ``role``; the token is returned once.

    Accounts are not looked up: what the inviter learns is only what the
    member list and the tenant's own invitations already show (409 for a
    current member or an invitation still pending).
    """
    own_tenant(principal, tenant_id)
    check_may_manage(principal, role)
    email = normalise_email(email)
    if await repository.membership_by_email(session, tenant_id, email) is not None:
        raise Conflict("This person is already a member of the tenant.")
    if await repository.open_invitation(session, tenant_id, email) is not None:
        raise Conflict(
            "An invitation for this address is still pending; revoke it to send a new one."
        )
    token = new_invitation_token()
    now = utcnow()
    invitation = Invitation(
        tenant_id=tenant_id,
        email=email,
        role=role,
        token_hash=hash_secret(token),
        state="pending",
        invited_by=principal.user_id,
        created_at=now,
        expires_at=now + timedelta(seconds=ttl_seconds),
    )
    session.add(invitation)
    await session.flush()
    await events.invitation_created(session, invitation)
    return InvitationCreated(**to_read(invitation).model_dump(), token=token)


async def revoke(
    session: AsyncSession, principal: Principal, tenant_id: uuid.UUID, invitation_id: uuid.UUID
) -> Invitation:
    """Withdraw a pending (or expired) invitation of the caller's tenant; once is enough."""
    own_tenant(principal, tenant_id)
    invitation = await repository.invitation_in_tenant(session, tenant_id, invitation_id)
    if invitation is None:
        raise NotFound(_NOT_FOUND)
    if invitation.state == "revoked":
        return invitation
    if invitation.state != "pending":
        raise Conflict(
            f"This invitation was already {invitation.state}; "
            "remove the member instead if they joined.",
            details={"state": invitation.state},
        )
    check_may_manage(principal, invitation.role)
    if await repository.close_invitation(session, invitation.id, "revoked", utcnow()):
        await events.invitation_revoked(session, invitation)
    await session.refresh(invitation)
    return invitation


async def addressed_to(
    session: AsyncSession,
    principal: Principal,
    user: User,
    *,
    invitation_id: uuid.UUID | None = None,
    token: str | None = None,
) -> Invitation:
    """The invitation (by id or token) if it is addressed to ``user``; 404 otherwise."""
    require_person(principal)
    if token is not None:
        invitation = await repository.invitation_by_token_hash(session, hash_secret(token))
    elif invitation_id is not None:
        invitation = await repository.invitation_by_id(session, invitation_id)
    else:  # pragma: no cover - the endpoints always pass one
        raise NotFound(_NOT_FOUND)
    if invitation is None or invitation.email != normalise_email(user.email):
        raise NotFound(_NOT_FOUND)
    return invitation


def _still_open(invitation: Invitation) -> None:
    if invitation.state != "pending":
        raise Conflict(
            f"This invitation was already {invitation.state}.",
            details={"state": invitation.state},
        )
    if invitation.expires_at <= utcnow():
        raise Conflict(
            "This invitation has expired; ask the tenant for a new one.",
            details={"state": "expired"},
        )


async def accept(session: AsyncSession, user: User, invitation: Invitation) -> Invitation:
    """Join the inviting tenant with the invited role; the invitation is used up."""
    _still_open(invitation)
    if await repository.membership(session, invitation.tenant_id, user.id) is not None:
        raise Conflict("You are already a member of this tenant.")
    # The conditional update makes the invitation single-use even under concurrent accepts.
    if not await repository.close_invitation(session, invitation.id, "accepted", utcnow()):
        raise Conflict("This invitation was already answered.")
    membership = Membership(tenant_id=invitation.tenant_id, user_id=user.id, role=invitation.role)
    session.add(membership)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict("You are already a member of this tenant.") from exc
    await session.refresh(invitation)
    await events.invitation_answered(session, invitation, user.id, accepted=True)
    await events.member_added(session, membership)
    return invitation


async def decline(session: AsyncSession, user: User, invitation: Invitation) -> Invitation:
    """Say no; the invitation can no longer be used."""
    _still_open(invitation)
    if not await repository.close_invitation(session, invitation.id, "declined", utcnow()):
        raise Conflict("This invitation was already answered.")
    await session.refresh(invitation)
    await events.invitation_answered(session, invitation, user.id, accepted=False)
    return invitation
