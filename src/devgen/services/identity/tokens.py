"""Minting credentials: access JWTs, opaque refresh tokens and API key secrets."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt

from devgen.kit.auth.principal import scopes_for_roles
from devgen.kit.auth.service import service_subject
from devgen.kit.auth.tokens import ALGORITHM, API_KEY_PREFIX
from devgen.kit.db import utcnow
from devgen.kit.settings import AuthSettings
from devgen.services.identity.keys import KeyRing

REFRESH_PREFIX = "dgr_"
INVITATION_PREFIX = "dgi_"


def hash_secret(secret: str) -> str:
    """SHA-256 of a high-entropy secret; enough because such secrets cannot be guessed."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_refresh_token() -> str:
    """A random, opaque refresh token (256 bits)."""
    return REFRESH_PREFIX + secrets.token_urlsafe(32)


def new_api_key_secret() -> str:
    """A random API key secret (256 bits) in the format every service recognises."""
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def new_invitation_token() -> str:
    """A random, opaque, single-use invitation token (256 bits)."""
    return INVITATION_PREFIX + secrets.token_urlsafe(32)


@dataclass(frozen=True)
class AccessToken:
    """A signed access token and when it expires."""

    token: str
    expires_at: datetime
    jti: str


class TokenIssuer:
    """Signs access tokens with identity's current key."""

    def __init__(self, keys: KeyRing, settings: AuthSettings) -> None:
        self._keys = keys
        self._settings = settings

    async def issue_access(
        self,
        *,
        user_id: uuid.UUID,
        tenant_id: uuid.UUID,
        role: str,
        session_id: uuid.UUID,
        platform_admin: bool,
    ) -> AccessToken:
        """An access token for ``user_id`` acting in ``tenant_id`` with ``role``."""
        kid, private_key = await self._keys.signing_key()
        now = utcnow()
        expires = now + timedelta(seconds=self._settings.access_token_ttl_seconds)
        jti = uuid.uuid4().hex
        claims = {
            "iss": self._settings.jwt_issuer,
            "aud": self._settings.jwt_audience,
            "sub": str(user_id),
            "tid": str(tenant_id),
            "roles": [role],
            "scope": " ".join(sorted(scopes_for_roles([role]))),
            "typ": "access",
            "knd": "user",
            "sid": str(session_id),
            "padm": platform_admin,
            "iat": int(now.timestamp()),
            "nbf": int(now.timestamp()),
            "exp": int(expires.timestamp()),
            "jti": jti,
        }
        token = jwt.encode(claims, private_key, algorithm=ALGORITHM, headers={"kid": kid})
        return AccessToken(token=token, expires_at=expires, jti=jti)

    async def issue_service(
        self,
        service: str,
        *,
        tenant_id: uuid.UUID | None = None,
        user_id: uuid.UUID | None = None,
        role: str | None = None,
    ) -> AccessToken:
        """A short-lived token for service ``service`` (``knd=service``, ``svc``).

        Without a tenant it acts for no one; with ``tenant_id``, ``user_id``
        and the user's ``role`` it acts on that user's behalf (``tid``,
        ``uid``, the role and its scopes besides ``service``).
        """
        kid, private_key = await self._keys.signing_key()
        now = utcnow()
        expires = now + timedelta(seconds=self._settings.service_token_ttl_seconds)
        jti = uuid.uuid4().hex
        claims = {
            "iss": self._settings.jwt_issuer,
            "aud": self._settings.jwt_audience,
            "sub": str(service_subject(service)),
            "roles": [role] if role else [],
            "scope": " ".join(sorted({"service", *scopes_for_roles([role] if role else [])})),
            "typ": "access",
            "knd": "service",
            "svc": service,
            "iat": int(now.timestamp()),
            "nbf": int(now.timestamp()),
            "exp": int(expires.timestamp()),
            "jti": jti,
        }
        if tenant_id is not None and user_id is not None:
            claims["tid"] = str(tenant_id)
            claims["uid"] = str(user_id)
        token = jwt.encode(claims, private_key, algorithm=ALGORITHM, headers={"kid": kid})
        return AccessToken(token=token, expires_at=expires, jti=jti)
