"""Remembering checked callers, so a read such as ``/auth/me`` needs no query per request.

Identity refuses an access token whose session was revoked, or whose user
was disabled, suspended, demoted or removed since it was issued. Checking
that is a database read; this cache remembers the answer (the caller's
account, tenant and role) per access token and drops it when identity's
own events say something changed:

- in this process, at the commit of the transaction that made the change
  (``register_commit_listener``), before the request that made it answers;
- in every other identity process (replicas), when the bus delivers the
  event (``EventBus.listen``): within the relay's and the broker's latency;
- in any case after ``DEVGEN_IDENTITY_CALLER_CACHE_SECONDS``, the bound on
  the revocation window at identity if events stop flowing (relay backed
  off, an event lost in a reconnect). While the bus listener is not live
  nothing is read from or added to the cache.

A check that started before a change and ends after it must not store what
it read: every drop advances a generation, and an answer is stored only if
the generation it started under is still current.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog

from devgen.kit.auth.principal import Principal, PrincipalKind
from devgen.kit.events import Event
from devgen.kit.events.bus import Listening
from devgen.services.identity import events
from devgen.services.identity.schemas import Me, TenantRead, UserRead

if TYPE_CHECKING:
    from devgen.services.identity.service import SessionContext

log = structlog.get_logger(__name__)

REVOKING_EVENTS: tuple[str, ...] = (
    events.USER_LOGGED_OUT,
    events.USER_PASSWORD_CHANGED,
    events.USER_DISABLED,
    events.REFRESH_REUSE_DETECTED,
    events.MEMBER_ROLE_CHANGED,
    events.MEMBER_REMOVED,
    events.API_KEY_REVOKED,
)
"""Events after which what a user's tokens may do has changed (all name ``user_id``
or, for API keys, ``owner_id``)."""

_MAX_ENTRIES = 10_000


@dataclass(frozen=True, slots=True)
class CheckedCaller:
    """A caller found active at identity: who they are and what ``/auth/me`` says."""

    principal: Principal
    me: Me


def checked_caller(context: SessionContext) -> CheckedCaller:
    """The snapshot of ``context`` the cache keeps (plain data, no database objects)."""
    principal = context.principal
    return CheckedCaller(
        principal=principal,
        me=Me(
            user=UserRead.model_validate(context.user),
            tenant=TenantRead.model_validate(context.tenant),
            role=context.membership.role if context.membership else None,  # type: ignore[arg-type]
            scopes=sorted(principal.scopes),
            credential="api_key" if principal.kind is PrincipalKind.api_key else "user",
            platform_admin=principal.platform_admin,
        ),
    )


@dataclass(frozen=True, slots=True)
class _Entry:
    caller: CheckedCaller
    user_id: uuid.UUID
    deadline: float


def _user_named(event: Event) -> uuid.UUID | None:
    named = event.data.get("user_id") or event.data.get("owner_id")
    try:
        return uuid.UUID(str(named)) if named else None
    except ValueError:
        return None


class CallerCache:
    """Checked user callers by access-token id (``jti``), dropped on revocation events."""

    def __init__(self, max_age_seconds: float) -> None:
        self.max_age_seconds = max_age_seconds
        self._entries: dict[str, _Entry] = {}
        self._generation = 0
        self._listening: Listening | None = None

    def attach(self, listening: Listening) -> None:
        """Trust entries only while ``listening`` (the bus listener) is live."""
        self._listening = listening

    @property
    def in_use(self) -> bool:
        """Whether entries are kept and trusted now (enabled, and the bus listener is live)."""
        listening = self._listening
        return self.max_age_seconds > 0 and listening is not None and listening.live

    @property
    def generation(self) -> int:
        """Advances on every drop; pass the value read before a check to ``remember``."""
        return self._generation

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, principal: Principal) -> CheckedCaller | None:
        """The remembered check of ``principal``'s token, if still trusted."""
        if principal.kind is not PrincipalKind.user or principal.token_id is None:
            return None
        if not self.in_use:
            return None
        entry = self._entries.get(principal.token_id)
        if entry is None:
            return None
        remembered = entry.caller.principal
        if entry.deadline <= time.monotonic() or (
            remembered is not principal and remembered != principal
        ):
            self._entries.pop(principal.token_id, None)
            return None
        return entry.caller

    def remember(self, caller: CheckedCaller, generation: int) -> None:
        """Keep ``caller`` unless something was dropped since ``generation`` was read."""
        principal = caller.principal
        if (
            generation != self._generation
            or not self.in_use
            or principal.kind is not PrincipalKind.user
            or principal.token_id is None
            or principal.user_id is None
        ):
            return
        if len(self._entries) >= _MAX_ENTRIES:
            self._entries.pop(next(iter(self._entries)))  # the oldest
        self._entries[principal.token_id] = _Entry(
            caller, principal.user_id, time.monotonic() + self.max_age_seconds
        )

    def forget_users(self, user_ids: Iterable[uuid.UUID]) -> None:
        """Drop every entry of these users."""
        wanted = set(user_ids)
        self._generation += 1
        if not wanted:
            return
        for key in [key for key, entry in self._entries.items() if entry.user_id in wanted]:
            del self._entries[key]

    def clear(self) -> None:
        """Drop everything (the bus listener may have missed events)."""
        self._generation += 1
        self._entries.clear()

    def apply(self, happened: Iterable[Event]) -> None:
        """Drop what ``happened`` (identity's events) may have made untrue."""
        users: set[uuid.UUID] = set()
        revoking = False
        for event in happened:
            if event.type not in REVOKING_EVENTS:
                continue
            revoking = True
            user_id = _user_named(event)
            if user_id is None:
                # An event naming no one: trust nothing rather than guess.
                log.warning("caller_cache_cleared", event_type=event.type, event_id=event.id)
                self.clear()
                return
            users.add(user_id)
        if revoking:
            self.forget_users(users)
