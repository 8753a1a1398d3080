"""Calls to other services: one client per target, the same in both shapes.

In all-in-one the client's transport is the target's in-process ASGI app;
distributed, it is real HTTP to the target's URL. Service code only sees
``ServiceClient`` and cannot tell which. Every call carries the request id,
the W3C trace context and (unless told otherwise) the caller's credential;
idempotent calls are retried with back-off; a circuit breaker stops
hammering a service that is down, and lets a trial call through as soon as
the service answers its health check again.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Mapping
from typing import Any

import httpx
import structlog
from opentelemetry import propagate
from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

from devgen.kit.breaker import CircuitBreaker, CircuitOpenError
from devgen.kit.context import authorization_var, current_request_id
from devgen.kit.errors import ServiceUnavailable
from devgen.kit.settings import ClientSettings, ServiceUrls
from devgen.kit.telemetry import instrument_client

log = structlog.get_logger(__name__)

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
_RETRYABLE_STATUS = frozenset({502, 503, 504})
# While a circuit is open, calls ask the target's /health at most this often.
_PROBE_INTERVAL_SECONDS = 0.25
_PROBE_TIMEOUT_SECONDS = 1.0


class _RetryableStatus(Exception):
    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"status {response.status_code}")
        self.response = response


class ServiceClient:
    """An HTTP client for one other service."""

    def __init__(
        self,
        service: str,
        *,
        base_url: str,
        transport: httpx.AsyncBaseTransport | None = None,
        settings: ClientSettings | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        settings = settings or ClientSettings()
        self.service = service
        self._attempts = settings.client_retry_attempts
        self.breaker = CircuitBreaker(
            service,
            failure_threshold=settings.client_breaker_failures,
            reset_seconds=settings.client_breaker_reset_seconds,
            first_reset_seconds=settings.client_breaker_first_reset_seconds,
        )
        self._probing = False
        self._probed_at = -_PROBE_INTERVAL_SECONDS
        self._http = httpx.AsyncClient(
            base_url=base_url,
            transport=transport,
            timeout=httpx.Timeout(
                settings.client_timeout_seconds, connect=settings.client_connect_timeout_seconds
            ),
            follow_redirects=False,
            # The platform's CA and this service's certificate (mutual TLS), if set.
            verify=tls if tls is not None else True,
        )
        # A client span per call, whose context the target continues.
        instrument_client(self._http)

    def _headers(
        self, extra: Mapping[str, str] | None, token: str | None, forward_auth: bool
    ) -> dict[str, str]:
        headers: dict[str, str] = {}
        if request_id := current_request_id():
            headers["X-Request-ID"] = request_id
        propagate.inject(headers)
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        elif forward_auth and (caller := authorization_var.get()):
            headers["Authorization"] = caller
        if extra:
            headers.update(extra)
        return headers

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        token: str | None = None,
        forward_auth: bool = True,
        read_timeout: float | None = None,
    ) -> httpx.Response:
        """Send one request; retries only when it is safe to repeat.

        A call is safe to repeat when its method is idempotent or it carries
        an ``Idempotency-Key``. Raises ``ServiceUnavailable`` when the target
        cannot be reached or its circuit is open; any HTTP answer (even an
        error status) is returned for the caller to interpret.
        """
        method = method.upper()
        sent_headers = self._headers(headers, token, forward_auth)
        retryable = method in IDEMPOTENT_METHODS or "Idempotency-Key" in sent_headers
        extra: dict[str, Any] = {"json": json, "params": params, "content": content}
        if read_timeout is not None:
            extra["timeout"] = read_timeout
        try:
            try:
                return await self._send(method, path, sent_headers, retryable, extra)
            except CircuitOpenError:
                if not await self._answers_health_check():
                    raise
                # Back already: the trial goes now, not when the reset runs out.
                self.breaker.target_is_back()
                return await self._send(method, path, sent_headers, retryable, extra)
        except _RetryableStatus as exc:
            return exc.response
        except CircuitOpenError as exc:
            raise ServiceUnavailable(
                f"The {self.service} service is unavailable; retry shortly.",
                details={"service": self.service, "retry_in_seconds": round(exc.retry_in, 1)},
            ) from exc
        except httpx.TransportError as exc:
            log.warning("service_call_failed", target=self.service, error=type(exc).__name__)
            raise ServiceUnavailable(
                f"The {self.service} service could not be reached.",
                details={"service": self.service},
            ) from exc

    async def _send(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        retryable: bool,
        extra: dict[str, Any],
    ) -> httpx.Response:
        async for attempt in AsyncRetrying(
            stop=stop_after_attempt(self._attempts if retryable else 1),
            # (wait_exponential_jitter's ``initial`` is deprecated in tenacity 9
            # and its replacement does not exist in 8, so the two are combined.)
            wait=wait_exponential(multiplier=0.05, max=2.0) + wait_random(0, 0.05),
            retry=retry_if_exception_type((httpx.TransportError, _RetryableStatus)),
            reraise=True,
        ):
            with attempt:
                self.breaker.before_call()
                try:
                    response = await self._http.request(method, path, headers=headers, **extra)
                except httpx.TransportError:
                    self.breaker.record_failure()
                    raise
                except BaseException:
                    # Cancelled (or a bug) mid-call: no verdict on the target, but
                    # a trial call must not keep the circuit open for good.
                    self.breaker.release()
                    raise
                if response.status_code in _RETRYABLE_STATUS:
                    self.breaker.record_failure()
                    if retryable:
                        raise _RetryableStatus(response)
                else:
                    self.breaker.record_success()
                return response
        raise AssertionError("unreachable")  # pragma: no cover

    async def _answers_health_check(self) -> bool:
        """Whether the target's ``/health`` answers now (one probe at a time, a few a second)."""
        now = time.monotonic()
        if self._probing or now - self._probed_at < _PROBE_INTERVAL_SECONDS:
            return False
        self._probing, self._probed_at = True, now
        try:
            response = await self._http.get("/health", timeout=_PROBE_TIMEOUT_SECONDS)
        except httpx.HTTPError:
            return False
        finally:
            self._probing = False
        return response.status_code == 200

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        """``GET path``."""
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> httpx.Response:
        """``POST path``."""
        return await self.request("POST", path, **kwargs)

    async def put(self, path: str, **kwargs: Any) -> httpx.Response:
        """``PUT path``."""
        return await self.request("PUT", path, **kwargs)

    async def patch(self, path: str, **kwargs: Any) -> httpx.Response:
        """``PATCH path``."""
        return await self.request("PATCH", path, **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        """``DELETE path``."""
        return await self.request("DELETE", path, **kwargs)

    async def aclose(self) -> None:
        """Close pooled connections."""
        await self._http.aclose()


class ServiceClients:
    """The clients of one app, built on first use from URLs or in-process transports."""

    def __init__(
        self,
        urls: ServiceUrls,
        settings: ClientSettings,
        transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self._urls = urls
        self._settings = settings
        self._tls = tls
        self._transports = dict(transports or {})
        self._clients: dict[str, ServiceClient] = {}

    def get(self, service: str) -> ServiceClient:
        """The client for ``service``; 503 when nothing says where it runs."""
        if client := self._clients.get(service):
            return client
        if transport := self._transports.get(service):
            client = ServiceClient(
                service,
                base_url=f"http://{service}.internal",
                transport=transport,
                settings=self._settings,
            )
        elif url := self._urls.url_of(service):
            client = ServiceClient(service, base_url=url, settings=self._settings, tls=self._tls)
        else:
            raise ServiceUnavailable(
                f"The {service} service is not configured; set DEVGEN_{service.upper()}_URL.",
                details={"service": service},
            )
        self._clients[service] = client
        return client

    async def aclose(self) -> None:
        """Close every client that was built."""
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()
