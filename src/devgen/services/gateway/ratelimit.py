"""Rate limits per credential and per client address, with the ``limits`` library.

Who is counted:
- ``POST /api/v1/auth/login`` and ``/register`` by client address, with the
  stricter ``DEVGEN_RATE_LIMIT_AUTH`` (passwords are what attackers guess);
- a request carrying a bearer credential *that verifies* (a signed, unexpired
  access token, or a live API key) by that credential (a hash of it, never
  the secret itself), with ``DEVGEN_RATE_LIMIT_PER_TOKEN``;
- any other request, junk bearers included, by client address, with
  ``DEVGEN_RATE_LIMIT_PER_ADDRESS``: a made-up token per request must not
  buy a fresh budget each time.

Verifying costs one signature check per new token (the authenticator caches
the result until the token expires) and, for API keys, one introspection at
identity, whose answer (a refusal too) is cached briefly.

Counters live in memory (one process) or in Redis when ``DEVGEN_REDIS_URL``
is set (shared by every gateway replica). The strategy is the sliding window
counter: one cheap operation per request, without the burst a fixed window
allows at its edges. When Redis is unreachable requests are let through and
the outage is logged: a broken counter store must not take the API down.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.errors import StorageError

from devgen.kit.errors import RateLimited
from devgen.kit.settings import RateLimitSettings
from devgen.services.gateway.routes import AUTH_PATHS

log = structlog.get_logger(__name__)

_REDIS_SOCKET_TIMEOUT_SECONDS = 0.5
_OUTAGE_LOG_INTERVAL_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class _Rule:
    """A named set of limits (``600/minute;20/second`` is two items)."""

    name: str
    items: tuple[RateLimitItem, ...]


def _rule(name: str, spec: str, setting: str) -> _Rule:
    try:
        items = tuple(parse_many(spec))
    except ValueError as exc:
        raise ValueError(f"{setting}={spec!r} is not a rate (e.g. '100/minute')") from exc
    if not items:
        raise ValueError(f"{setting} is empty; write a rate such as '100/minute'")
    return _Rule(name, items)


def _bearer_token(headers: Sequence[tuple[bytes, bytes]]) -> bytes | None:
    for key, value in headers:
        if key == b"authorization":
            scheme, _, credential = value.partition(b" ")
            if scheme.lower() == b"bearer" and credential.strip():
                return credential.strip()
            return None
    return None


def _build_storage(settings: RateLimitSettings) -> tuple[Storage, Any]:
    """The counter store and, for Redis, the connection pool to close at shut-down."""
    if not settings.redis_url:
        return MemoryStorage(), None
    try:
        from redis.asyncio import ConnectionPool
    except ImportError as exc:  # pragma: no cover - the extra is part of `dev`
        raise RuntimeError(
            "DEVGEN_REDIS_URL is set but redis-py is missing: pip install 'devgen[redis]'"
        ) from exc
    pool = ConnectionPool.from_url(
        settings.redis_url,
        socket_connect_timeout=_REDIS_SOCKET_TIMEOUT_SECONDS,
        socket_timeout=_REDIS_SOCKET_TIMEOUT_SECONDS,
    )
    storage = RedisStorage(
        f"async+{settings.redis_url}",
        implementation="redispy",
        wrap_exceptions=True,
        connection_pool=pool,
    )
    return storage, pool


Verify = Callable[[str], Awaitable[bool]]
"""Whether a bearer credential is genuine (signature, expiry, a live API key)."""


async def _trust_nothing(_credential: str) -> bool:
    return False


class GatewayRateLimiter:
    """Decides, per request, whether the caller is still within its limits."""

    def __init__(
        self,
        settings: RateLimitSettings,
        *,
        key_prefix: str,
        storage: Storage | None = None,
        verify: Verify = _trust_nothing,
    ) -> None:
        self.enabled = settings.rate_limit_enabled
        self._token = _rule("token", settings.rate_limit_per_token, "DEVGEN_RATE_LIMIT_PER_TOKEN")
        self._address = _rule(
            "address", settings.rate_limit_per_address, "DEVGEN_RATE_LIMIT_PER_ADDRESS"
        )
        self._auth = _rule("auth", settings.rate_limit_auth, "DEVGEN_RATE_LIMIT_AUTH")
        self._pool: Any = None
        if storage is None:
            storage, self._pool = _build_storage(settings)
        self.storage = storage
        self.backend = "redis" if isinstance(storage, RedisStorage) else "memory"
        self._limiter = SlidingWindowCounterRateLimiter(storage)
        self._prefix = key_prefix
        self._verify = verify
        self._last_outage_log = float("-inf")

    async def _rule_for(
        self, method: str, path: str, headers: Sequence[tuple[bytes, bytes]], address: str
    ) -> tuple[_Rule, str]:
        if method == "POST" and path in AUTH_PATHS:
            return self._auth, address
        token = _bearer_token(headers)
        if token is not None and await self._verify(token.decode("latin-1")):
            return self._token, hashlib.sha256(token).hexdigest()[:32]
        return self._address, address

    async def check(
        self, method: str, path: str, headers: Sequence[tuple[bytes, bytes]], address: str
    ) -> None:
        """Count this request; raise ``RateLimited`` (429) when a limit is exhausted."""
        if not self.enabled:
            return
        rule, identity = await self._rule_for(method, path, headers, address)
        try:
            for item in rule.items:
                if not await self._limiter.hit(item, self._prefix, rule.name, identity):
                    stats = await self._limiter.get_window_stats(
                        item, self._prefix, rule.name, identity
                    )
                    raise RateLimited(
                        math.ceil(stats.reset_time - time.time()),
                        f"Too many requests; the limit is {item}.",
                        details={"limit": str(item), "scope": rule.name},
                    )
        except StorageError as exc:
            self._log_outage(exc)

    def _log_outage(self, exc: StorageError) -> None:
        now = time.monotonic()
        if now - self._last_outage_log >= _OUTAGE_LOG_INTERVAL_SECONDS:
            self._last_outage_log = now
            log.warning(
                "rate_limit_store_unavailable",
                backend=self.backend,
                error=type(exc.storage_error).__name__,
                effect="requests are not rate limited until the store answers",
            )

    async def healthy(self) -> bool:
        """Whether the counter store answers."""
        try:
            return await self.storage.check()
        except StorageError:
            return False

    async def aclose(self) -> None:
        """Release the store's connections (and memory storage's expiry task)."""
        timer = getattr(self.storage, "timer", None)
        if timer is not None and not timer.done():
            timer.cancel()
        if self._pool is not None:
            await self._pool.aclose()
