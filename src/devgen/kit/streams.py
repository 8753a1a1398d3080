"""Long-lived streams (server-sent events) kept in bounds: how many, and for how long a credential.

A stream outlives the request that opened it, so two things are checked
beyond what every request gets:

- ``StreamLimiter``: how many streams one user, and one tenant, may hold
  open at once in this process; one more is refused with 429.
- ``StreamCredential``: the credential the stream was opened with is asked
  about again at identity (``POST /internal/v1/auth/validate``) every
  ``recheck_seconds``, and the stream ends at the credential's ``exp``.
  Access tokens are verified locally against identity's keys, so a
  revocation before ``exp`` (signing out, a changed password, a disabled
  account, a membership removed) is visible only at identity: asking there
  is what ends the stream. When identity cannot answer the stream ends too
  (fail closed); the client reconnects (with ``Last-Event-ID`` where the
  stream has ids) and loses nothing.

``LimitedStream`` is the response that gives its limiter slot back however
the stream ends; ``bearer_token`` reads the credential a stream re-checks.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypeVar

import structlog
from fastapi import Request
from fastapi.security.utils import get_authorization_scheme_param
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.types import Receive, Scope, Send

from devgen.kit.auth.principal import Principal
from devgen.kit.auth.tokens import Introspector
from devgen.kit.errors import Forbidden, RateLimited, ServiceUnavailable

log = structlog.get_logger(__name__)

_RETRY_AFTER_SECONDS = 5
T = TypeVar("T")


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
        tenant = principal.tenant_id
        if tenant is None:
            raise Forbidden("This credential is not bound to a tenant.")
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
    """Why a stream was ended before what it follows finished."""

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


class LimitedStream(EventSourceResponse):
    """An event stream that gives its slot back however it ends (even unstarted, for HEAD)."""

    def __init__(self, *args: Any, slot: StreamSlot, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._slot = slot

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._slot.release()


def bearer_token(request: Request) -> str:
    """The bearer credential of ``request`` (authentication has already accepted it)."""
    _, token = get_authorization_scheme_param(request.headers.get("Authorization"))
    return token


def closed_event(event: str, reason: StreamEnd) -> ServerSentEvent:
    """The last event of a stream its credential no longer holds (no ``id``: resuming
    with ``Last-Event-ID`` picks up after the last real event)."""
    return ServerSentEvent(
        event=event, data=json.dumps({"reason": reason.value, "message": reason.message})
    )


async def until_revoked(
    source: AsyncIterator[T], credential: StreamCredential, closing: Callable[[StreamEnd], T]
) -> AsyncIterator[T]:
    """``source``'s items while ``credential`` holds; then ``closing(why)``, and the end.

    The credential is checked when a re-check is due even while ``source``
    has nothing to say (an execution still queued, a quiet program).
    """
    upcoming: asyncio.Future[T] | None = None
    try:
        while True:
            ended = await credential.check()
            if ended is not None:
                yield closing(ended)
                return
            if upcoming is None:
                upcoming = asyncio.ensure_future(anext(source))
            done, _ = await asyncio.wait({upcoming}, timeout=credential.seconds_to_next_check())
            if upcoming in done:
                try:
                    item = upcoming.result()
                except StopAsyncIteration:
                    return
                upcoming = None
                yield item
    finally:
        if upcoming is not None and not upcoming.done():
            upcoming.cancel()
            with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                await upcoming
        aclose = getattr(source, "aclose", None)
        if aclose is not None:
            await aclose()
