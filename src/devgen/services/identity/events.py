"""The events identity emits, one function each, called from its service layer.

Each writes to identity's outbox in the caller's transaction (see
``devgen.kit.events.emit``). Events carry ids and the few values a reader
of the audit log needs (an e-mail address for sign-ins, a role), never
secrets. The actor and tenant come from the request's principal unless
named here (sign-in has no principal yet).
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from devgen.kit.auth.context import current_principal
from devgen.kit.events import emit
from devgen.services.identity.models import ApiKey, Invitation, Membership, Tenant, User

USER_REGISTERED = "identity.user.registered"
USER_LOGGED_OUT = "identity.user.logged_out"
USER_PASSWORD_CHANGED = "identity.user.password_changed"  # noqa: S105 - an event type
USER_DISABLED = "identity.user.disabled"
USER_ENABLED = "identity.user.enabled"
LOGIN_SUCCEEDED = "identity.login.succeeded"
LOGIN_FAILED = "identity.login.failed"
REFRESH_REUSE_DETECTED = "identity.session.reuse_detected"
TENANT_CREATED = "identity.tenant.created"
MEMBER_ADDED = "identity.member.added"
MEMBER_ROLE_CHANGED = "identity.member.role_changed"
MEMBER_REMOVED = "identity.member.removed"
INVITATION_CREATED = "identity.invitation.created"
INVITATION_ACCEPTED = "identity.invitation.accepted"
INVITATION_DECLINED = "identity.invitation.declined"
INVITATION_REVOKED = "identity.invitation.revoked"
API_KEY_CREATED = "identity.api_key.created"
API_KEY_REVOKED = "identity.api_key.revoked"


def _user_actor(user_id: uuid.UUID) -> str:
    return f"user:{user_id}"


async def user_registered(session: AsyncSession, user: User, tenant: Tenant) -> None:
    """A new account and its personal tenant (by itself, or by an administrator)."""
    principal = current_principal()
    await emit(
        session,
        USER_REGISTERED,
        subject=user.id,
        tenant_id=tenant.id,
        actor=principal.actor if principal else _user_actor(user.id),
        data={
            "user_id": user.id,
            "tenant_id": tenant.id,
            "email": user.email,
            "platform_admin": user.is_platform_admin,
        },
    )


async def login_succeeded(
    session: AsyncSession, user: User, membership: Membership, session_id: uuid.UUID
) -> None:
    """A password sign-in that started a session."""
    await emit(
        session,
        LOGIN_SUCCEEDED,
        subject=user.id,
        tenant_id=membership.tenant_id,
        actor=_user_actor(user.id),
        data={"user_id": user.id, "email": user.email, "session_id": session_id},
    )


async def login_failed(
    session: AsyncSession, email: str, user_id: uuid.UUID | None, reason: str
) -> None:
    """A refused sign-in (wrong password, unknown address, disabled account, locked out).

    Recorded although the request fails (``devgen.kit.db.record_and_raise``).
    """
    await emit(
        session,
        LOGIN_FAILED,
        subject=user_id,
        tenant_id=None,
        actor=None,
        data={"email": email, "reason": reason, "outcome": "failure"},
    )


async def logged_out(
    session: AsyncSession, user_id: uuid.UUID, *, all_sessions: bool, revoked: int
) -> None:
    """The user ended their session (or all of them)."""
    await emit(
        session,
        USER_LOGGED_OUT,
        subject=user_id,
        data={"user_id": user_id, "all_sessions": all_sessions, "sessions_revoked": revoked},
    )


async def password_changed(
    session: AsyncSession, user_id: uuid.UUID, *, sessions_revoked: int, api_keys_revoked: int
) -> None:
    """The password changed; every session and every API key of the user ended."""
    await emit(
        session,
        USER_PASSWORD_CHANGED,
        subject=user_id,
        data={
            "user_id": user_id,
            "sessions_revoked": sessions_revoked,
            "api_keys_revoked": api_keys_revoked,
        },
    )


async def refresh_reuse_detected(
    session: AsyncSession, family_id: uuid.UUID, user_id: uuid.UUID, tenant_id: uuid.UUID
) -> None:
    """A used refresh token came back: its session was revoked (a stolen token, likely)."""
    await emit(
        session,
        REFRESH_REUSE_DETECTED,
        subject=family_id,
        tenant_id=tenant_id,
        actor=None,
        data={"user_id": user_id, "session_id": family_id, "outcome": "failure"},
    )


async def user_active_changed(
    session: AsyncSession, user_id: uuid.UUID, *, active: bool, scope: str
) -> None:
    """A user was disabled or enabled, in one tenant or (platform admin) everywhere."""
    await emit(
        session,
        USER_ENABLED if active else USER_DISABLED,
        subject=user_id,
        data={"user_id": user_id, "scope": scope},
    )


async def tenant_created(session: AsyncSession, tenant: Tenant, owner_id: uuid.UUID) -> None:
    """A (non-personal) tenant, owned by its creator."""
    await emit(
        session,
        TENANT_CREATED,
        subject=tenant.id,
        tenant_id=tenant.id,
        data={"tenant_id": tenant.id, "owner_id": owner_id},
    )


async def member_added(session: AsyncSession, membership: Membership) -> None:
    """An account joined a tenant with a role."""
    await emit(
        session,
        MEMBER_ADDED,
        subject=membership.user_id,
        tenant_id=membership.tenant_id,
        data={"user_id": membership.user_id, "role": membership.role},
    )


async def member_role_changed(session: AsyncSession, membership: Membership, previous: str) -> None:
    """A member's role changed."""
    await emit(
        session,
        MEMBER_ROLE_CHANGED,
        subject=membership.user_id,
        tenant_id=membership.tenant_id,
        data={"user_id": membership.user_id, "from": previous, "to": membership.role},
    )


async def member_removed(session: AsyncSession, membership: Membership, *, left: bool) -> None:
    """A member was removed from a tenant (or left it)."""
    await emit(
        session,
        MEMBER_REMOVED,
        subject=membership.user_id,
        tenant_id=membership.tenant_id,
        data={"user_id": membership.user_id, "role": membership.role, "left": left},
    )


async def invitation_created(session: AsyncSession, invitation: Invitation) -> None:
    """An e-mail address was invited into a tenant (whether it has an account is not known)."""
    await emit(
        session,
        INVITATION_CREATED,
        subject=invitation.id,
        tenant_id=invitation.tenant_id,
        data={
            "invitation_id": invitation.id,
            "email": invitation.email,
            "role": invitation.role,
            "expires_at": invitation.expires_at,
        },
    )


async def invitation_answered(
    session: AsyncSession, invitation: Invitation, user_id: uuid.UUID, *, accepted: bool
) -> None:
    """The invitee accepted (and joined) or declined; recorded in the inviting tenant."""
    await emit(
        session,
        INVITATION_ACCEPTED if accepted else INVITATION_DECLINED,
        subject=invitation.id,
        tenant_id=invitation.tenant_id,
        data={"invitation_id": invitation.id, "user_id": user_id, "role": invitation.role},
    )


async def invitation_revoked(session: AsyncSession, invitation: Invitation) -> None:
    """A tenant administrator withdrew a pending invitation."""
    await emit(
        session,
        INVITATION_REVOKED,
        subject=invitation.id,
        tenant_id=invitation.tenant_id,
        data={"invitation_id": invitation.id, "email": invitation.email},
    )


async def api_key_created(session: AsyncSession, key: ApiKey) -> None:
    """An API key (its id and scopes; never its secret)."""
    await emit(
        session,
        API_KEY_CREATED,
        subject=key.id,
        tenant_id=key.tenant_id,
        data={
            "api_key_id": key.id,
            "owner_id": key.user_id,
            "scopes": key.scopes.split(),
            "expires_at": key.expires_at,
        },
    )


async def api_key_revoked(session: AsyncSession, key: ApiKey, *, reason: str) -> None:
    """An API key stopped working: revoked on request, or by its owner's password change."""
    await emit(
        session,
        API_KEY_REVOKED,
        subject=key.id,
        tenant_id=key.tenant_id,
        data={"api_key_id": key.id, "owner_id": key.user_id, "reason": reason},
    )
