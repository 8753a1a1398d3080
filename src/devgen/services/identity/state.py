"""The collaborators identity's rules need, built once in the app's lifespan."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request

from devgen.kit.auth.tokens import Authenticator
from devgen.kit.db import Database
from devgen.kit.settings import AuthSettings
from devgen.services.identity.keys import KeyRing
from devgen.services.identity.passwords import Passwords
from devgen.services.identity.settings import IdentitySettings
from devgen.services.identity.tokens import TokenIssuer

if TYPE_CHECKING:
    from devgen.services.identity.callers import CallerCache


@dataclass(frozen=True)
class IdentityState:
    """Password hasher, key ring, token issuer and settings of this process."""

    database: Database
    passwords: Passwords
    keys: KeyRing
    issuer: TokenIssuer
    settings: IdentitySettings
    auth: AuthSettings
    authenticator: Authenticator
    callers: CallerCache


async def _state(request: Request) -> IdentityState:
    state: IdentityState = request.app.state.identity
    return state


State = Annotated[IdentityState, Depends(_state)]
