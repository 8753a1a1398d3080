"""How identity checks credentials itself: its own keys and its own API-key table."""

from __future__ import annotations

from devgen.kit.auth.principal import Principal
from devgen.kit.auth.tokens import Authenticator
from devgen.kit.db import Database
from devgen.kit.settings import AuthSettings
from devgen.services.identity.keys import KeyRing
from devgen.services.identity.service import api_key_principal


class LocalIntrospector:
    """Looks API keys up in identity's own database."""

    def __init__(self, database: Database) -> None:
        self._database = database

    async def introspect(self, token: str) -> Principal | None:
        """The principal of a live API key, or None."""
        # Inside an identity request this is part of the request's transaction.
        async with self._database.joined_transaction() as session:
            return await api_key_principal(session, token)


def local_authenticator(keys: KeyRing, database: Database, settings: AuthSettings) -> Authenticator:
    """An authenticator that needs no HTTP: identity is the issuer.

    API keys are not cached here, so a revoked key stops working at identity
    at once.
    """
    return Authenticator(
        keys,
        LocalIntrospector(database),
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        introspection_cache_seconds=0,
    )
