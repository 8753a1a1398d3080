"""Keeping the run event streams (SSE) in bounds: how many, and for how long a credential.

A stream outlives the request that opened it by as long as the run takes,
so two things are checked beyond what every request gets:

- ``StreamLimiter``: how many streams one user, and one tenant, may hold
  open at once in this process; one more is refused with 429.
- ``StreamCredential``: the credential the stream was opened with is asked
  about again at identity (``POST /auth/validate``) every
  ``orchestrator_stream_recheck_seconds``, and the stream ends at the
  credential's ``exp``. Access tokens are verified locally against
  identity's keys, so a revocation before ``exp`` (signing out, a changed
  password, a disabled account, a membership removed) is visible only at
  identity: asking there is what ends the stream. When identity cannot
  answer the stream ends too (fail closed); the client reconnects with
  ``Last-Event-ID`` and loses nothing.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from enum import StrEnum

import structlog

from devgen.kit.auth import Principal
from devgen.kit.auth.tokens import Introspector
from devgen.kit.errors import RateLimited, ServiceUnavailable
from devgen.services.orchestrator.access import tenant_of

log = structlog.get_logger(__name__)

_RETRY_AFTER_SECONDS = 5


class StreamSlot:
    """One open stream counted against its user and tenant; ``release`` once it ends."""

    def __init__(self, give_back: Callable[[], None]) -> None:
        self._give_back: Callable[[], None] | None = give_back

    def release(self) -> None:
        """Give the slot back (a second call does nothing)."""
        give_back, self._give_back = self._give_back, None
        if give_back is not None:
            give_back()


class StreamLimiter:
    """Counts the open streams of each user and tenant in this process."""

    def __init__(self, *, per_user: int, per_tenant: int) -> None:
        self._per_user = per_user
        self._per_tenant = per_tenant
        self._users: Counter[uuid.UUID] = Counter()
        self._tenants: Counter[uuid.UUID] = Counter()

    def open(self, principal: Principal) -> StreamSlot:
        """A slot for a new stream of ``principal``; ``RateLimited`` (429) when either
        its user or its tenant already holds as many as allowed."""
        # An API key (and a service acting for someone) counts for the user behind it.
        user = principal.user_id or principal.subject
        tenant = tenant_of(principal)
        if self._users[user] >= self._per_user:
            raise RateLimited(
                _RETRY_AFTER_SECONDS,
                f"You already have {self._per_user} event streams open; close one first.",
                details={"limit": self._per_user, "per": "user"},
            )
        if self._tenants[tenant] >= self._per_tenant:
            raise RateLimited(
                _RETRY_AFTER_SECONDS,
                f"Your tenant already has {self._per_tenant} event streams open; close one first.",
                details={"limit": self._per_tenant, "per": "tenant"},
            )
        self._users[user] += 1
        self._tenants[tenant] += 1
        return StreamSlot(lambda: self._give_back(user, tenant))

    def _give_back(self, user: uuid.UUID, tenant: uuid.UUID) -> None:
        for counts, key in ((self._users, user), (self._tenants, tenant)):
            counts[key] -= 1
            if counts[key] <= 0:
                del counts[key]


class StreamEnd(StrEnum):
    """Why a stream was ended before its run finished."""

    expired = "credential_expired"
    revoked = "credential_revoked"
    unverified = "credential_unverified"

    @property
    def message(self) -> str:
        """What the client is told, in the closing event."""
        return {
            StreamEnd.expired: "The credential has expired; open the stream again with a "
            "fresh token (send Last-Event-ID to resume).",
            StreamEnd.revoked: "The credential is no longer valid (signed out, password "
            "changed, account disabled or membership ended).",
            StreamEnd.unverified: "The credential could not be checked again (identity "
            "did not answer); open the stream again (send Last-Event-ID to resume).",
        }[self]


class StreamCredential:
    """The credential a stream was opened with, checked again while the stream lasts."""

    def __init__(
        self,
        token: str,
        principal: Principal,
        introspector: Introspector,
        *,
        recheck_seconds: float,
    ) -> None:
        self._token = token
        self._principal = principal
        self._introspector = introspector
        self._recheck = recheck_seconds
        self._expires_at = principal.expires_at
        self._next_check = time.monotonic() + recheck_seconds

    def seconds_to_next_check(self) -> float:
        """How long the stream may wait before ``check`` has something to do."""
        due = self._next_check - time.monotonic()
        if self._expires_at is not None:
            due = min(due, (self._expires_at - datetime.now(UTC)).total_seconds())
        return max(due, 0.0)

    async def check(self) -> StreamEnd | None:
        """None while the credential holds; why the stream must end otherwise.

        Asks identity only when a re-check is due; the expiry is checked locally.
        """
        if self._expires_at is not None and datetime.now(UTC) >= self._expires_at:
            return StreamEnd.expired
        if time.monotonic() < self._next_check:
            return None
        try:
            current = await self._introspector.introspect(self._token)
        except ServiceUnavailable:
            log.warning("stream_credential_unverified", principal=self._principal.actor)
            return StreamEnd.unverified
        self._next_check = time.monotonic() + self._recheck
        if (
            current is None
            or current.tenant_id != self._principal.tenant_id
            or not current.has_scope("read")
        ):
            return StreamEnd.revoked
        if current.expires_at is not None and (
            self._expires_at is None or current.expires_at < self._expires_at
        ):
            # An API key's expiry may have been brought forward since the stream opened.
            self._expires_at = current.expires_at
        return None
