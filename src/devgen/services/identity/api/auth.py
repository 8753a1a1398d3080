"""``/api/v1/auth``: register, sign in, refresh, sign out, me, password, switch tenant.

Introspection and service tokens are for the platform's services only and
live under ``/internal`` (``identity.api.internal``), which the gateway
never routes.
"""

from __future__ import annotations

from fastapi import APIRouter, status

from devgen.kit.deps import Session
from devgen.kit.errors import (
    Conflict,
    NotFound,
    RateLimited,
    Unauthorized,
    ValidationFailed,
    error_responses,
)
from devgen.kit.responses import Envelope
from devgen.services.identity import service
from devgen.services.identity.deps import Active, ActiveReader
from devgen.services.identity.schemas import (
    LoginRequest,
    LogoutRequest,
    Me,
    PasswordChange,
    RefreshRequest,
    Registered,
    RegisterRequest,
    SwitchTenantRequest,
    TenantRead,
    TokenPair,
    UserRead,
)
from devgen.services.identity.state import State

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    response_model=Envelope[Registered],
    responses=error_responses(Conflict, RateLimited),
)
async def register(body: RegisterRequest, session: Session, state: State) -> Envelope[Registered]:
    """Create an account and its personal tenant (the new user owns it)."""
    user, tenant = await service.create_user(
        session,
        state,
        email=body.email,
        password=body.password,
        display_name=body.display_name,
    )
    return Envelope(
        data=Registered(
            user=UserRead.model_validate(user), tenant=TenantRead.model_validate(tenant)
        )
    )


@router.post(
    "/login",
    response_model=Envelope[TokenPair],
    responses=error_responses(Unauthorized, NotFound, RateLimited),
)
async def login(body: LoginRequest, session: Session, state: State) -> Envelope[TokenPair]:
    """Exchange e-mail and password for an access token and a refresh token."""
    pair = await service.login(
        session, state, email=body.email, password=body.password, tenant_id=body.tenant_id
    )
    return Envelope(data=pair)


@router.post(
    "/refresh", response_model=Envelope[TokenPair], responses=error_responses(Unauthorized)
)
async def refresh(body: RefreshRequest, session: Session, state: State) -> Envelope[TokenPair]:
    """Rotate a refresh token: the old one stops working, a new pair is returned.

    Presenting a refresh token a second time revokes the whole session.
    """
    return Envelope(data=await service.refresh(session, state, body.refresh_token))


@router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(Unauthorized, ValidationFailed),
)
async def logout(body: LogoutRequest, session: Session, context: Active) -> None:
    """End this session (or, with ``all_sessions``, every session of the user)."""
    await service.logout(session, context.principal, all_sessions=body.all_sessions)


@router.get("/me", response_model=Envelope[Me], responses=error_responses(Unauthorized))
async def me(caller: ActiveReader) -> Envelope[Me]:
    """The caller's account, current tenant, role and scopes."""
    return Envelope(data=caller.me)


@router.post(
    "/password",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(Unauthorized, ValidationFailed),
)
async def change_password(
    body: PasswordChange, session: Session, state: State, context: Active
) -> None:
    """Change the password; every session of the user ends (sign in again)."""
    if context.membership is None:
        raise ValidationFailed("Sign in as the user to change the password.")
    await service.change_password(
        session, state, context.user, body.current_password, body.new_password
    )


@router.post(
    "/switch-tenant",
    response_model=Envelope[TokenPair],
    responses=error_responses(Unauthorized, NotFound),
)
async def switch_tenant(
    body: SwitchTenantRequest, session: Session, state: State, context: Active
) -> Envelope[TokenPair]:
    """A token pair for acting in another tenant the caller belongs to."""
    if context.membership is None:
        raise ValidationFailed("API keys are bound to one tenant.")
    return Envelope(data=await service.switch_tenant(session, state, context.user, body.tenant_id))
