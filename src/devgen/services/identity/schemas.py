"""Identity's request and response models."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StrictBool,
    field_validator,
    model_validator,
)

from devgen.kit.auth.principal import KNOWN_SCOPES
from devgen.kit.types import Name, PasswordAttempt, Secret, Token

Role = Literal["owner", "admin", "member", "viewer"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RegisterRequest(_Strict):
    """A new account; creates a personal tenant owned by it."""

    email: EmailStr = Field(max_length=254, examples=["ada@example.com"])
    password: Secret = Field(examples=["correct horse battery staple"])
    display_name: Name | None = Field(default=None, examples=["Ada Lovelace"])


class LoginRequest(_Strict):
    """E-mail and password, optionally choosing the tenant to act in."""

    email: EmailStr = Field(max_length=254)
    password: PasswordAttempt
    tenant_id: uuid.UUID | None = None


class RefreshRequest(_Strict):
    """A refresh token to exchange for a new token pair."""

    refresh_token: Token


class LogoutRequest(_Strict):
    """End this session, or every session of the user."""

    all_sessions: StrictBool = False


class ValidateRequest(_Strict):
    """A credential another service wants to know about."""

    token: Token


class PasswordChange(_Strict):
    """The current password and the new one."""

    current_password: PasswordAttempt
    new_password: Secret


class SwitchTenantRequest(_Strict):
    """The tenant to act in next."""

    tenant_id: uuid.UUID


class ServiceTokenRequest(_Strict):
    """A service asking for its token with the shared service secret.

    With ``tenant_id`` and ``user_id`` the token acts on behalf of that user
    in that tenant, with the user's role there (work that outlives the
    user's own token, such as an orchestrator run).
    """

    service: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,31}$", examples=["audit"])
    secret: Token
    tenant_id: uuid.UUID | None = None
    user_id: uuid.UUID | None = None

    @model_validator(mode="after")
    def _both_or_neither(self) -> ServiceTokenRequest:
        if (self.tenant_id is None) != (self.user_id is None):
            raise ValueError("give both `tenant_id` and `user_id`, or neither")
        return self


class ServiceToken(BaseModel):
    """A short-lived access token for a service."""

    access_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 - a scheme name, not a secret
    expires_in: int = Field(description="Seconds until the token expires.")


class TokenPair(BaseModel):
    """What a successful sign-in or refresh returns."""

    access_token: str
    refresh_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 - a scheme name, not a secret
    expires_in: int = Field(description="Seconds until the access token expires.")
    tenant_id: uuid.UUID


class UserRead(BaseModel):
    """A user as other people see them."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str
    display_name: str
    is_active: bool
    created_at: datetime


class TenantRead(BaseModel):
    """A tenant."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    personal: bool
    created_at: datetime


class TenantWithRole(TenantRead):
    """A tenant the caller belongs to, with their role in it."""

    role: Role


class Registered(BaseModel):
    """The account and personal tenant a registration created."""

    user: UserRead
    tenant: TenantRead


class Me(BaseModel):
    """Who the caller is and where they act."""

    user: UserRead
    tenant: TenantRead
    role: Role | None
    scopes: list[str]
    credential: Literal["user", "api_key"]
    platform_admin: bool


class Introspection(BaseModel):
    """RFC 7662-style answer about a credential."""

    active: bool
    kind: Literal["user", "api_key", "service"] | None = None
    sub: str | None = None
    user_id: str | None = None
    tenant_id: str | None = None
    roles: list[str] = Field(default_factory=list)
    scope: str | None = None
    exp: int | None = None
    jti: str | None = None
    platform_admin: bool = False


class TenantCreate(_Strict):
    """A new tenant, owned by its creator."""

    name: Name


class InvitationCreate(_Strict):
    """Invite an e-mail address into the tenant with a role; they join once they accept."""

    email: EmailStr = Field(max_length=254, examples=["grace@example.com"])
    role: Role = "member"


InvitationState = Literal["pending", "accepted", "declined", "revoked", "expired"]


class InvitationRead(BaseModel):
    """An invitation; it never says whether the address has an account."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    email: str
    role: Role
    state: InvitationState
    created_at: datetime
    expires_at: datetime
    closed_at: datetime | None = Field(description="When it was accepted, declined or revoked.")


class InvitationCreated(InvitationRead):
    """A new invitation; ``token`` is shown this once, to send to the invitee out of band."""

    token: str = Field(description="Single-use; accepting it needs a sign-in as `email`.")


class InvitationForMe(InvitationRead):
    """An invitation addressed to the caller, with the name of the tenant it is for."""

    tenant_name: str


class InvitationToken(_Strict):
    """An invitation token received out of band."""

    token: Token


class MemberUpdate(_Strict):
    """A member's new role."""

    role: Role


class MemberRead(BaseModel):
    """A member of a tenant."""

    user_id: uuid.UUID
    email: str
    display_name: str
    role: Role
    suspended: bool
    joined_at: datetime


class UserInTenant(UserRead):
    """A user as a tenant administrator sees them."""

    role: Role
    suspended: bool


class DisableResult(BaseModel):
    """What a disable (or enable) changed."""

    user_id: uuid.UUID
    scope: Literal["tenant", "account"]
    active: bool


class ApiKeyCreate(_Strict):
    """A new API key for the caller in the current tenant."""

    name: Name
    scopes: list[str] = Field(default_factory=lambda: ["read"], min_length=1, max_length=10)
    expires_at: datetime | None = None

    @field_validator("scopes")
    @classmethod
    def _known_scopes(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - KNOWN_SCOPES)
        if unknown:
            raise ValueError(f"unknown scopes {unknown}; known: {sorted(KNOWN_SCOPES)}")
        return sorted(set(value))

    @field_validator("expires_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("must include a timezone, e.g. 2030-01-01T00:00:00Z")
        return value


class ApiKeyRead(BaseModel):
    """An API key without its secret."""

    id: uuid.UUID
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


class ApiKeyCreated(ApiKeyRead):
    """A new API key; ``secret`` is shown this once and never again."""

    secret: str
