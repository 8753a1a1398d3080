"""Signing keys: Ed25519 pairs stored by identity, rotated by a command.

The newest unretired key signs; retired keys stay in the JWKS until every
token they signed has expired (``publish_until``), then drop out.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import structlog
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import SecretStr
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from devgen.kit.auth.ed25519 import (
    ALGORITHM,
    load_private_pem,
    private_pem,
    public_jwk,
    reencrypted,
)
from devgen.kit.auth.tokens import jwks_to_keys
from devgen.kit.db import Database, utcnow
from devgen.services.identity.models import SigningKey

log = structlog.get_logger(__name__)

_PUBLISH_GRACE = timedelta(seconds=60)
# A flood of tokens naming made-up keys must not become a flood of database reads.
_MIN_FORCED_RELOAD_SECONDS = 1.0


def new_signing_key(kek: SecretStr | None = None) -> SigningKey:
    """A fresh Ed25519 key pair as an (unsaved) row, its private half encrypted with ``kek``."""
    private = Ed25519PrivateKey.generate()
    kid = f"{utcnow():%Y%m%d}-{secrets.token_hex(6)}"
    return SigningKey(
        kid=kid,
        algorithm=ALGORITHM,
        private_pem=private_pem(private, kek),
        public_jwk=public_jwk(private, kid) | {"use": "sig"},
        created_at=utcnow(),
    )


async def published_keys(session: AsyncSession) -> list[SigningKey]:
    """Keys verifiers may still need, newest first."""
    now = utcnow()
    rows = await session.scalars(
        select(SigningKey)
        .where(or_(SigningKey.publish_until.is_(None), SigningKey.publish_until > now))
        .order_by(SigningKey.created_at.desc())
    )
    return list(rows)


async def ensure_signing_key(session: AsyncSession, kek: SecretStr | None = None) -> SigningKey:
    """The active signing key, created on first start; keys stored in clear get encrypted."""
    active = await session.scalar(
        select(SigningKey)
        .where(SigningKey.retired_at.is_(None))
        .order_by(SigningKey.created_at.desc())
        .limit(1)
    )
    if active is None:
        active = new_signing_key(kek)
        session.add(active)
    for key in await session.scalars(select(SigningKey)):
        if (protected := reencrypted(key.private_pem, kek)) is not None:
            log.warning("signing_key_encrypted_at_rest", kid=key.kid)
            key.private_pem = protected
    await session.flush()
    return active


async def rotate_signing_key(
    session: AsyncSession, access_token_ttl_seconds: int, kek: SecretStr | None = None
) -> SigningKey:
    """Start signing with a new key; keep the old ones published until their tokens expire."""
    now = utcnow()
    publish_until = now + timedelta(seconds=access_token_ttl_seconds) + _PUBLISH_GRACE
    for key in await session.scalars(select(SigningKey).where(SigningKey.retired_at.is_(None))):
        key.retired_at = now
        key.publish_until = publish_until
    fresh = new_signing_key(kek)
    session.add(fresh)
    await session.flush()
    return fresh


@dataclass(frozen=True)
class _Loaded:
    kid: str
    private_key: Any
    jwks: dict[str, Any]
    verification_keys: dict[str, Any]


class KeyRing:
    """The signing key and published keys, held in memory and reloaded from the database.

    ``start`` makes sure a signing key exists and loads the keys; after that a
    background loop (``run_reloads``) rereads them every ``reload_seconds``,
    outside any request, so a rotation done by the CLI in another process is
    picked up. Requests never wait for a database read, except when a token
    names a key not loaded yet (another replica rotated first): that reload
    takes part in the request's own transaction.
    """

    def __init__(
        self, database: Database, reload_seconds: float, kek: SecretStr | None = None
    ) -> None:
        self._database = database
        self._reload_seconds = reload_seconds
        self._kek = kek
        self._loaded: _Loaded | None = None
        self._loaded_at = float("-inf")
        self.reload_count = 0
        # Reloads forced by an unknown key id, at most one per interval.
        self.forced_reload_count = 0
        self.forced_reload_interval = _MIN_FORCED_RELOAD_SECONDS

    async def start(self) -> None:
        """Create the first signing key if there is none, then load the keys."""
        async with self._database.transaction() as session:
            await ensure_signing_key(session, self._kek)
        await self.reload()

    async def reload(self) -> None:
        """Read the keys again (in the caller's transaction when it holds one)."""
        async with self._database.joined_transaction() as session:
            active = await session.scalar(
                select(SigningKey)
                .where(SigningKey.retired_at.is_(None))
                .order_by(SigningKey.created_at.desc())
                .limit(1)
            )
            keys = await published_keys(session)
        if active is None:
            raise RuntimeError("identity has no active signing key; run `devgen keys rotate`")
        jwks = {"keys": [dict(key.public_jwk) for key in keys]}
        private = load_private_pem(active.private_pem, self._kek)
        self._loaded = _Loaded(active.kid, private, jwks, jwks_to_keys(jwks))
        self._loaded_at = time.monotonic()
        self.reload_count += 1

    async def run_reloads(self) -> None:
        """Reload every ``reload_seconds`` until cancelled; a failure is logged, then retried."""
        while True:
            await asyncio.sleep(max(0.0, self._loaded_at + self._reload_seconds - time.monotonic()))
            try:
                await self.reload()
            except Exception as exc:  # noqa: BLE001 - the keys in memory stay valid meanwhile
                log.warning("signing_key_reload_failed", error=type(exc).__name__)
                self._loaded_at = time.monotonic()

    def _current(self) -> _Loaded:
        if self._loaded is None:
            raise RuntimeError("the key ring was not started")
        return self._loaded

    async def signing_key(self) -> tuple[str, Any]:
        """``(kid, private key)`` to sign new tokens with."""
        loaded = self._current()
        return loaded.kid, loaded.private_key

    async def jwks(self) -> dict[str, Any]:
        """The JWKS document identity publishes."""
        return self._current().jwks

    async def key_for(self, kid: str) -> Any | None:
        """A verification key by id; reloads once when the id is unknown."""
        loaded = self._current()
        if (
            kid not in loaded.verification_keys
            and time.monotonic() - self._loaded_at >= self.forced_reload_interval
        ):
            self.forced_reload_count += 1
            await self.reload()
            loaded = self._current()
        return loaded.verification_keys.get(kid)
