"""Verify access tokens locally against identity's published keys.

Only one algorithm is accepted (EdDSA), the key is chosen by ``kid`` from
identity's JWKS and nothing else in the header (``jku``, ``jwk``, ``x5u``)
is ever looked at. Opaque API keys cannot be verified locally, so they are
introspected at identity's ``/auth/validate`` and the answer cached briefly.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

import jwt
import structlog
from cachetools import TLRUCache, TTLCache

from devgen.kit.auth.ed25519 import ALGORITHM
from devgen.kit.auth.principal import Principal, PrincipalKind
from devgen.kit.errors import Unauthorized

log = structlog.get_logger(__name__)

API_KEY_PREFIX = "dgk_"
MAX_TOKEN_LENGTH = 8192
_REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "sub", "jti", "typ"]
_LEEWAY_SECONDS = 5
_REFUSAL_CACHE_SECONDS = 2.0
_VERIFIED_CACHE_SIZE = 10_000


def token_digest(token: str) -> bytes:
    """SHA-256 of a credential: what caches are keyed by, so none holds a usable secret."""
    return hashlib.sha256(token.encode()).digest()


def _until_expiry(_key: bytes, principal: Principal, _now: float) -> float:
    # A verified token is remembered exactly as long as it is valid.
    return principal.expires_at.timestamp() if principal.expires_at else 0.0


class KeySource(Protocol):
    """Where verification keys come from."""

    async def key_for(self, kid: str) -> Any | None:
        """The public key with id ``kid``, or None when there is none (after one refresh)."""
        ...


class Introspector(Protocol):
    """Asks the issuer about an opaque credential."""

    async def introspect(self, token: str) -> Principal | None:
        """The principal behind ``token``, or None when it is not active."""
        ...


def jwks_to_keys(jwks: Mapping[str, Any]) -> dict[str, Any]:
    """Public keys by ``kid`` from a JWKS document, skipping keys we cannot use."""
    keys: dict[str, Any] = {}
    for entry in jwks.get("keys", []):
        kid = entry.get("kid")
        if not isinstance(kid, str) or entry.get("alg", ALGORITHM) != ALGORITHM:
            continue
        try:
            keys[kid] = jwt.PyJWK(entry, algorithm=ALGORITHM).key
        except jwt.PyJWTError:
            log.warning("jwks_key_skipped", kid=kid)
    return keys


class CachedJWKS:
    """A JWKS fetched through ``fetch``, cached, refetched once on an unknown ``kid``.

    The refetch is rate-limited so a flood of tokens with made-up key ids
    cannot turn into a flood of requests to identity.
    """

    def __init__(
        self,
        fetch: Callable[[], Awaitable[Mapping[str, Any]]],
        *,
        max_age_seconds: float = 300,
        min_refetch_seconds: float = 1.0,
    ) -> None:
        self._fetch = fetch
        self._max_age = max_age_seconds
        self._min_refetch = min_refetch_seconds
        self._keys: dict[str, Any] = {}
        self._fetched_at = float("-inf")
        self._lock = asyncio.Lock()
        self.fetch_count = 0

    async def _refresh(self, *, force: bool) -> None:
        async with self._lock:
            age = time.monotonic() - self._fetched_at
            if age < self._min_refetch or (not force and age < self._max_age):
                return
            document = await self._fetch()
            self.fetch_count += 1
            self._keys = jwks_to_keys(document)
            self._fetched_at = time.monotonic()

    async def key_for(self, kid: str) -> Any | None:
        """The key for ``kid``; refetches when stale, and once more when unknown."""
        if time.monotonic() - self._fetched_at >= self._max_age:
            await self._refresh(force=False)
        if kid not in self._keys:
            await self._refresh(force=True)
        return self._keys.get(kid)


def principal_from_claims(claims: Mapping[str, Any]) -> Principal:
    """Turn verified access-token claims into a principal."""
    kind = PrincipalKind(claims.get("knd", PrincipalKind.user.value))
    tenant = claims.get("tid")
    sid = claims.get("sid")
    roles = claims.get("roles") or []
    scope = claims.get("scope") or ""
    if not isinstance(roles, list) or not isinstance(scope, str):
        raise Unauthorized("The access token is malformed.")
    subject = uuid.UUID(str(claims["sub"]))
    # A service token issued on behalf of a user names that user in ``uid``.
    on_behalf = claims.get("uid") if kind is PrincipalKind.service else None
    user_id = subject if kind is PrincipalKind.user else None
    if on_behalf:
        user_id = uuid.UUID(str(on_behalf))
    return Principal(
        subject=subject,
        kind=kind,
        tenant_id=uuid.UUID(tenant) if tenant else None,
        user_id=user_id,
        roles=frozenset(str(role) for role in roles),
        scopes=frozenset(scope.split()),
        token_id=str(claims["jti"]),
        session_id=uuid.UUID(sid) if sid else None,
        expires_at=datetime.fromtimestamp(int(claims["exp"]), UTC),
        platform_admin=bool(claims.get("padm", False)),
        service=claims.get("svc"),
    )


class Authenticator:
    """Turns a bearer credential into a ``Principal`` or raises ``Unauthorized``."""

    def __init__(
        self,
        keys: KeySource,
        introspector: Introspector,
        *,
        issuer: str,
        audience: str,
        introspection_cache_seconds: float = 5.0,
    ) -> None:
        self._keys = keys
        self._introspector = introspector
        self._issuer = issuer
        self._audience = audience
        # Verified tokens are remembered (by digest) until they expire, so the
        # signature is checked once per token rather than once per request.
        self._verified: TLRUCache[bytes, Principal] = TLRUCache(
            maxsize=_VERIFIED_CACHE_SIZE, ttu=_until_expiry, timer=time.time
        )
        self._introspected: TTLCache[str, Principal] = TTLCache(
            maxsize=10_000, ttl=max(introspection_cache_seconds, 0.001)
        )
        self._introspection_enabled = introspection_cache_seconds > 0
        # Refusals are remembered too, briefly: a flood of made-up API keys must not
        # become a flood of calls to identity. A key created a moment after one of
        # its guesses was refused waits at most this long.
        self._refused: TTLCache[str, bool] = TTLCache(
            maxsize=10_000, ttl=max(min(introspection_cache_seconds, _REFUSAL_CACHE_SECONDS), 0.001)
        )

    async def authenticate(self, token: str) -> Principal:
        """Verify ``token`` (an access JWT or an API key)."""
        if not token or len(token) > MAX_TOKEN_LENGTH:
            raise Unauthorized("The credential is not valid.")
        if token.startswith(API_KEY_PREFIX):
            return await self._authenticate_api_key(token)
        digest = token_digest(token)
        cached = self._verified.get(digest)
        if cached is not None:
            return cached
        principal = await self._verify_jwt(token)
        self._verified[digest] = principal
        return principal

    def forget(self, token: str) -> None:
        """Drop any cached verification of ``token`` (after a revocation)."""
        self._verified.pop(token_digest(token), None)
        self._introspected.pop(token, None)
        self._refused.pop(token, None)

    async def _authenticate_api_key(self, token: str) -> Principal:
        if self._introspection_enabled and (cached := self._introspected.get(token)):
            return cached
        if self._introspection_enabled and token in self._refused:
            raise Unauthorized("The API key is not valid.")
        principal = await self._introspector.introspect(token)
        if principal is None:
            if self._introspection_enabled:
                self._refused[token] = True
            raise Unauthorized("The API key is not valid.")
        if self._introspection_enabled:
            self._introspected[token] = principal
        return principal

    async def _verify_jwt(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise Unauthorized("The access token is malformed.") from exc
        kid = header.get("kid")
        if header.get("alg") != ALGORITHM or not isinstance(kid, str) or len(kid) > 128:
            raise Unauthorized("The access token is not signed with an accepted key.")
        key = await self._keys.key_for(kid)
        if key is None:
            raise Unauthorized("The access token is signed by an unknown key.")
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                leeway=_LEEWAY_SECONDS,
                options={"require": _REQUIRED_CLAIMS},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("The access token has expired.") from exc
        except jwt.PyJWTError as exc:
            raise Unauthorized("The access token is not valid.") from exc
        if claims.get("typ") != "access":
            raise Unauthorized("This token is not an access token.")
        if int(claims["iat"]) > time.time() + _LEEWAY_SECONDS:
            raise Unauthorized("The access token is not valid yet.")
        try:
            return principal_from_claims(claims)
        except (KeyError, ValueError, TypeError) as exc:
            raise Unauthorized("The access token is malformed.") from exc
