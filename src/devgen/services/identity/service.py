"""Sign-up, sign-in and sessions: the rules of identity's auth flows.

A login session is a refresh-token family. Refresh tokens rotate on every
use; presenting one that was already used revokes its whole family. Access
tokens carry the family id (``sid``), so identity refuses them as soon as
the family is revoked; other services verify them locally and accept them
until they expire (at most ``DEVGEN_ACCESS_TOKEN_TTL_SECONDS``, 15 minutes
by default) — the documented revocation window.
"""

from __future__ import annotations

import hmac
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from devgen.kit.auth.principal import Principal, PrincipalKind, scopes_for_roles
from devgen.kit.auth.tokens import API_KEY_PREFIX
from devgen.kit.db import record_and_raise, utcnow
from devgen.kit.errors import (
    Conflict,
    Forbidden,
    NotFound,
    RateLimited,
    Unauthorized,
    ValidationFailed,
)
from devgen.services.identity import events, repository
from devgen.services.identity.models import (
    LoginThrottle,
    Membership,
    RefreshFamily,
    RefreshToken,
    Tenant,
    User,
)
from devgen.services.identity.schemas import Introspection, ServiceToken, TokenPair
from devgen.services.identity.state import IdentityState
from devgen.services.identity.tokens import hash_secret, new_refresh_token

log = structlog.get_logger(__name__)

INVALID_CREDENTIALS = "Invalid email or password."


def normalise_email(email: str) -> str:
    """E-mail addresses are compared case-insensitively."""
    return email.strip().lower()


async def create_user(
    session: AsyncSession,
    state: IdentityState,
    *,
    email: str,
    password: str,
    display_name: str | None = None,
    platform_admin: bool = False,
) -> tuple[User, Tenant]:
    """A new account with its personal tenant, which it owns."""
    email = normalise_email(email)
    if await repository.user_by_email(session, email) is not None:
        raise Conflict("An account with this e-mail address already exists.")
    name = display_name or email.split("@", 1)[0]
    user = User(
        email=email,
        display_name=name,
        password_hash=await state.passwords.hash(password),
        is_platform_admin=platform_admin,
        password_changed_at=utcnow(),
    )
    tenant = Tenant(name=f"{name}'s workspace"[:100], personal=True)
    session.add_all([user, tenant])
    try:
        await session.flush()
        session.add(Membership(tenant_id=tenant.id, user_id=user.id, role="owner"))
        await session.flush()
    except IntegrityError as exc:
        raise Conflict("An account with this e-mail address already exists.") from exc
    await events.user_registered(session, user, tenant)
    return user, tenant


async def _record_failed_login(session: AsyncSession, state: IdentityState, email: str) -> None:
    now = utcnow()
    throttle = await repository.throttle_for(session, email)
    if throttle is None:
        throttle = LoginThrottle(email=email, failures=0, last_failure_at=now)
        session.add(throttle)
    throttle.failures += 1
    throttle.last_failure_at = now
    excess = throttle.failures - state.settings.login_free_failures
    if excess >= 0:
        delay = min(
            state.settings.login_backoff_base_seconds * (2**excess),
            state.settings.login_backoff_max_seconds,
        )
        throttle.locked_until = now + timedelta(seconds=delay)
    await session.flush()


def _retry_after(locked_until: datetime) -> int:
    return max(1, int((locked_until - utcnow()).total_seconds() + 0.999))


async def _start_session(
    session: AsyncSession, state: IdentityState, user: User, membership: Membership
) -> tuple[TokenPair, RefreshFamily]:
    now = utcnow()
    family = RefreshFamily(
        user_id=user.id,
        tenant_id=membership.tenant_id,
        created_at=now,
        expires_at=now + timedelta(seconds=state.auth.refresh_token_ttl_seconds),
    )
    session.add(family)
    await session.flush()
    return await _issue_pair(session, state, user, membership, family), family


async def _issue_pair(
    session: AsyncSession,
    state: IdentityState,
    user: User,
    membership: Membership,
    family: RefreshFamily,
) -> TokenPair:
    refresh = new_refresh_token()
    session.add(
        RefreshToken(family_id=family.id, token_hash=hash_secret(refresh), created_at=utcnow())
    )
    access = await state.issuer.issue_access(
        user_id=user.id,
        tenant_id=membership.tenant_id,
        role=membership.role,
        session_id=family.id,
        platform_admin=user.is_platform_admin,
    )
    await session.flush()
    return TokenPair(
        access_token=access.token,
        refresh_token=refresh,
        expires_in=state.auth.access_token_ttl_seconds,
        tenant_id=membership.tenant_id,
    )


async def login(
    session: AsyncSession,
    state: IdentityState,
    *,
    email: str,
    password: str,
    tenant_id: uuid.UUID | None = None,
) -> TokenPair:
    """Check the password and start a session.

    Unknown e-mail, wrong password and disabled account all give the same
    401 after the same amount of work; repeated failures lock the address
    with exponential back-off (429 with ``Retry-After``).
    """
    email = normalise_email(email)
    throttle = await repository.throttle_for(session, email)
    if throttle and throttle.locked_until and throttle.locked_until > utcnow():
        locked = RateLimited(
            _retry_after(throttle.locked_until),
            "Too many failed sign-ins for this account; wait before trying again.",
        )
        await record_and_raise(
            session, lambda kept: events.login_failed(kept, email, None, "locked"), locked
        )
    user = await repository.user_by_email(session, email)
    matches = await state.passwords.verify(user.password_hash if user else None, password)
    if user is None or not matches or not user.is_active:
        reason = "disabled" if user is not None and matches else "invalid_credentials"
        user_id = user.id if user else None

        async def record_failure(kept: AsyncSession) -> None:
            await _record_failed_login(kept, state, email)
            await events.login_failed(kept, email, user_id, reason)

        await record_and_raise(session, record_failure, Unauthorized(INVALID_CREDENTIALS))
    if throttle is not None:
        await session.delete(throttle)
    if state.passwords.needs_rehash(user.password_hash):
        user.password_hash = await state.passwords.hash(password)
    if tenant_id is not None:
        membership = await repository.membership(session, tenant_id, user.id)
        if membership is None or membership.suspended_at is not None:
            raise NotFound("No such tenant among yours.")
    else:
        membership = await repository.default_membership(session, user.id)
        if membership is None:
            raise Unauthorized(INVALID_CREDENTIALS)
    pair, family = await _start_session(session, state, user, membership)
    await events.login_succeeded(session, user, membership, family.id)
    return pair


async def refresh(session: AsyncSession, state: IdentityState, raw_token: str) -> TokenPair:
    """Rotate a refresh token; a reused one revokes its whole family."""
    found = await repository.refresh_token_by_hash(session, hash_secret(raw_token))
    if found is None:
        raise Unauthorized("The refresh token is not valid.")
    token, family = found
    now = utcnow()
    if family.revoked_at is not None or family.expires_at <= now:
        raise Unauthorized("This session has ended; sign in again.")
    if token.used_at is not None or not await repository.mark_refresh_used(session, token.id):
        family_id, user_id, tenant_id = family.id, family.user_id, family.tenant_id

        async def revoke(kept: AsyncSession) -> None:
            await repository.revoke_families(
                kept, user_id=user_id, family_id=family_id, reason="refresh_reuse"
            )
            await events.refresh_reuse_detected(kept, family_id, user_id, tenant_id)

        await record_and_raise(
            session,
            revoke,
            Unauthorized("This refresh token was already used; the session has been revoked."),
        )
    user = await repository.user_by_id(session, family.user_id)
    membership = await repository.membership(session, family.tenant_id, family.user_id)
    if (
        user is None
        or not user.is_active
        or membership is None
        or membership.suspended_at is not None
    ):
        raise Unauthorized("This session has ended; sign in again.")
    return await _issue_pair(session, state, user, membership, family)


async def logout(session: AsyncSession, principal: Principal, *, all_sessions: bool) -> int:
    """End the caller's session (or all of them); returns how many were revoked."""
    if principal.kind is not PrincipalKind.user or principal.user_id is None:
        raise ValidationFailed("Only a signed-in user can log out; revoke API keys instead.")
    revoked = await repository.revoke_families(
        session,
        user_id=principal.user_id,
        reason="logout",
        family_id=None if all_sessions else principal.session_id,
    )
    await events.logged_out(session, principal.user_id, all_sessions=all_sessions, revoked=revoked)
    return revoked


async def change_password(
    session: AsyncSession, state: IdentityState, user: User, current: str, new: str
) -> None:
    """Replace the password and end every session and every API key of the user.

    A password change usually means "my account may be compromised": a key
    made by whoever held the old password must not outlive it, so the
    user's keys in every tenant are revoked with the sessions.
    """
    if not await state.passwords.verify(user.password_hash, current):
        raise ValidationFailed(
            "The current password is not correct.", details={"field": "current_password"}
        )
    now = utcnow()
    user.password_hash = await state.passwords.hash(new)
    user.password_changed_at = now
    sessions = await repository.revoke_families(session, user_id=user.id, reason="password_changed")
    keys = await repository.live_api_keys_of_user(session, user.id)
    for key in keys:
        key.revoked_at = now
    await session.flush()
    for key in keys:
        await events.api_key_revoked(session, key, reason="password_changed")
    await events.password_changed(
        session, user.id, sessions_revoked=sessions, api_keys_revoked=len(keys)
    )


async def switch_tenant(
    session: AsyncSession, state: IdentityState, user: User, tenant_id: uuid.UUID
) -> TokenPair:
    """A new session acting in another tenant the user belongs to."""
    membership = await repository.membership(session, tenant_id, user.id)
    if membership is None or membership.suspended_at is not None:
        raise NotFound("No such tenant among yours.")
    pair, _family = await _start_session(session, state, user, membership)
    return pair


@dataclass(frozen=True)
class SessionContext:
    """The caller's account, tenant and role, checked against revocation."""

    principal: Principal
    user: User
    tenant: Tenant
    membership: Membership | None


async def active_context(session: AsyncSession, principal: Principal) -> SessionContext:
    """Load the caller's account and refuse credentials that were revoked since issue."""
    if principal.kind is PrincipalKind.user:
        if principal.session_id is None or principal.tenant_id is None:
            raise Unauthorized("The access token is not valid.")
        found = await repository.session_context(
            session, principal.subject, principal.tenant_id, principal.session_id
        )
        if found is None:
            raise Unauthorized("The access token is not valid.")
        user, tenant, membership, family = found
        if family.revoked_at is not None:
            raise Unauthorized("This session has been revoked; sign in again.")
        if not user.is_active or membership.suspended_at is not None:
            raise Unauthorized("This account is disabled.")
        return SessionContext(principal, user, tenant, membership)
    if principal.kind is PrincipalKind.api_key and principal.user_id and principal.tenant_id:
        user = await repository.user_by_id(session, principal.user_id)
        tenant = await session.get(Tenant, principal.tenant_id)
        if user is None or tenant is None:
            raise Unauthorized("The API key is not valid.")
        return SessionContext(principal, user, tenant, None)
    raise Unauthorized("This credential cannot be used here.")


async def introspect(session: AsyncSession, state: IdentityState, token: str) -> Introspection:
    """What identity knows about a credential right now (RFC 7662 style)."""
    if token.startswith(API_KEY_PREFIX):
        principal = await api_key_principal(session, token)
    else:
        try:
            principal = await state.authenticator.authenticate(token)
            if principal.kind is not PrincipalKind.service:
                await active_context(session, principal)
        except Unauthorized:
            principal = None
    if principal is None:
        return Introspection(active=False)
    return Introspection(
        active=True,
        kind=principal.kind.value,
        sub=str(principal.subject),
        user_id=str(principal.user_id) if principal.user_id else None,
        tenant_id=str(principal.tenant_id) if principal.tenant_id else None,
        roles=sorted(principal.roles),
        scope=" ".join(sorted(principal.scopes)),
        exp=int(principal.expires_at.timestamp()) if principal.expires_at else None,
        jti=principal.token_id,
        platform_admin=principal.platform_admin,
    )


async def service_token(
    session: AsyncSession,
    state: IdentityState,
    service: str,
    secret: str,
    *,
    tenant_id: uuid.UUID | None = None,
    user_id: uuid.UUID | None = None,
) -> ServiceToken:
    """A token for ``service`` if ``secret`` is the shared service secret (constant-time check).

    With ``tenant_id`` and ``user_id`` the token acts for that user, with
    the role the user holds in the tenant *now*: a user who left the
    tenant, was suspended or disabled gets no token acting for them (403).
    """
    configured = state.auth.service_secret
    expected = configured.get_secret_value().encode() if configured is not None else b""
    if not expected or not hmac.compare_digest(secret.encode(), expected):
        log.warning("service_token_refused", service=service)
        raise Unauthorized("The service secret is not valid.")
    role = None
    if tenant_id is not None and user_id is not None:
        user = await repository.user_by_id(session, user_id)
        membership = await repository.membership(session, tenant_id, user_id)
        if (
            user is None
            or not user.is_active
            or membership is None
            or membership.suspended_at is not None
        ):
            raise Forbidden("The user is not an active member of the tenant.")
        role = membership.role
    token = await state.issuer.issue_service(
        service, tenant_id=tenant_id, user_id=user_id, role=role
    )
    return ServiceToken(access_token=token.token, expires_in=state.auth.service_token_ttl_seconds)


async def api_key_principal(session: AsyncSession, secret: str) -> Principal | None:
    """The principal of a live API key, or None (unknown, revoked, expired, owner gone)."""
    found = await repository.api_key_by_hash(session, hash_secret(secret))
    if found is None:
        return None
    key, user, membership = found
    now = utcnow()
    if (
        key.revoked_at is not None
        or (key.expires_at is not None and key.expires_at <= now)
        or not user.is_active
        or membership is None
        or membership.suspended_at is not None
    ):
        return None
    # A key never grants more than its owner's role does today.
    scopes = frozenset(key.scopes.split()) & scopes_for_roles([membership.role])
    if key.last_used_at is None or now - key.last_used_at > timedelta(minutes=1):
        await repository.touch_api_key(session, key.id, now)
    return Principal(
        subject=key.id,
        kind=PrincipalKind.api_key,
        tenant_id=key.tenant_id,
        user_id=key.user_id,
        scopes=scopes,
        token_id=str(key.id),
        expires_at=key.expires_at,
    )
