"""One chat model over HTTP: timeouts, retries with back-off, ``Retry-After``, a circuit breaker.

- 429 waits what ``Retry-After`` (or ``retry-after-ms``) says, up to a cap, then retries;
  a longer wait is not sat out: the caller gets the time to come back.
- 5xx, 529, connection failures, timeouts, truncated bodies and 2xx bodies that are not
  the protocol's JSON are retried with exponential back-off, at most ``max_retries`` times.
- Other 4xx (a wrong key, an unknown model) are configuration errors: not retried.
- The breaker counts failed attempts across requests and fails fast while the endpoint is
  down, so a dead model does not hold every generation request for its full timeout.
- Every answered call is charged to the request's :class:`Meter` before its text is used.
"""

from __future__ import annotations

import email.utils
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import structlog
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
)

from devgen.kit.breaker import BreakerState, CircuitBreaker, CircuitOpenError
from devgen.services.codegen.engines.llm.budget import Meter
from devgen.services.codegen.engines.llm.errors import LLMUnavailableError
from devgen.services.codegen.engines.llm.protocols import (
    Completion,
    Message,
    ProtocolError,
    WireProtocol,
    protocol_for,
)
from devgen.services.codegen.engines.llm.settings import LLMSettings
from devgen.services.codegen.metrics import record_completion

log = structlog.get_logger(__name__)

_RETRYABLE_STATUS = frozenset({500, 502, 503, 504, 529})
_MAX_BACKOFF_SECONDS = 8.0


class _Retryable(Exception):
    """One failed attempt worth another try; ``wait`` overrides the back-off."""

    def __init__(self, reason: str, *, wait: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.wait = wait


@dataclass(frozen=True)
class ClientConfig:
    """The parts of the settings the client needs."""

    base_url: str
    model: str
    api_key: str = ""
    timeout_seconds: float = 120.0
    connect_timeout_seconds: float = 5.0
    max_retries: int = 3
    retry_after_max_seconds: float = 60.0
    backoff_seconds: float = 0.5
    temperature: float = 0.0
    breaker_failures: int = 5
    breaker_reset_seconds: float = 30.0

    @classmethod
    def from_settings(cls, settings: LLMSettings) -> ClientConfig:
        """The client configuration in ``settings``."""
        return cls(
            base_url=settings.llm_base_url,
            model=settings.llm_model,
            api_key=settings.llm_api_key.get_secret_value(),
            timeout_seconds=settings.llm_timeout_seconds,
            connect_timeout_seconds=settings.llm_connect_timeout_seconds,
            max_retries=settings.llm_max_retries,
            retry_after_max_seconds=settings.llm_retry_after_max_seconds,
            backoff_seconds=settings.llm_backoff_seconds,
            temperature=settings.llm_temperature,
            breaker_failures=settings.llm_breaker_failures,
            breaker_reset_seconds=settings.llm_breaker_reset_seconds,
        )


def retry_after_seconds(headers: httpx.Headers, now: float | None = None) -> float | None:
    """The wait a 429/503 asks for: ``retry-after-ms``, or ``Retry-After`` (seconds or a date)."""
    if (millis := headers.get("retry-after-ms")) is not None:
        try:
            return max(float(millis) / 1000, 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - (time.time() if now is None else now), 0.0)


class LLMClient:
    """Sends conversations to one model; shared by every request of the process."""

    def __init__(
        self,
        config: ClientConfig,
        protocol: WireProtocol,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.config = config
        self.protocol = protocol
        self.breaker = CircuitBreaker(
            "llm",
            failure_threshold=config.breaker_failures,
            reset_seconds=config.breaker_reset_seconds,
        )
        self._http = httpx.AsyncClient(
            base_url=config.base_url,
            transport=transport,
            timeout=httpx.Timeout(config.timeout_seconds, connect=config.connect_timeout_seconds),
            follow_redirects=False,
        )

    @classmethod
    def from_settings(
        cls, settings: LLMSettings, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> LLMClient:
        """A client for the endpoint ``settings`` describe."""
        protocol = protocol_for(
            settings.llm_provider, anthropic_version=settings.llm_anthropic_version
        )
        return cls(ClientConfig.from_settings(settings), protocol, transport=transport)

    @property
    def model(self) -> str:
        """The model every call asks for."""
        return self.config.model

    async def aclose(self) -> None:
        """Close pooled connections."""
        await self._http.aclose()

    async def complete(
        self, system: str, messages: Sequence[Message], *, meter: Meter, max_tokens: int
    ) -> Completion:
        """One answer to ``messages``, charged to ``meter``.

        Raises :class:`BudgetExceededError` before calling when the budget cannot cover
        the call, and :class:`LLMUnavailableError` when the endpoint cannot answer.
        """
        prompt_chars = len(system) + sum(len(m.content) for m in messages)
        allowed = meter.allowance(prompt_chars, max_tokens)
        body = self.protocol.body(
            model=self.config.model,
            system=system,
            messages=messages,
            max_tokens=allowed,
            temperature=self.config.temperature,
        )
        completion = await self._send(body)
        if completion.usage_estimated and completion.input_tokens == 0:
            # Some local servers report no usage; count the prompt rather than nothing.
            completion = Completion(
                text=completion.text,
                input_tokens=math.ceil(prompt_chars / 4),
                output_tokens=completion.output_tokens,
                truncated=completion.truncated,
                usage_estimated=True,
            )
        meter.record(completion.input_tokens, completion.output_tokens)
        record_completion(
            self.config.model,
            completion.input_tokens,
            completion.output_tokens,
            meter.prices.cost(completion.input_tokens, completion.output_tokens),
        )
        return completion

    async def _send(self, body: dict[str, Any]) -> Completion:
        headers = self.protocol.headers(self.config.api_key)
        try:
            async for attempt in AsyncRetrying(
                stop=stop_after_attempt(self.config.max_retries + 1),
                wait=self._wait,
                retry=retry_if_exception_type(_Retryable),
                reraise=True,
            ):
                with attempt:
                    return await self._attempt(body, headers)
        except _Retryable as exc:
            raise LLMUnavailableError(
                f"The LLM endpoint failed {self.config.max_retries + 1} times: {exc.reason}.",
                details={"reason": exc.reason, "attempts": self.config.max_retries + 1},
            ) from exc
        except CircuitOpenError as exc:
            raise LLMUnavailableError(
                "The LLM endpoint is failing; calls are paused for a while.",
                retry_after=exc.retry_in,
                details={"retry_in_seconds": round(exc.retry_in, 1)},
            ) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def _wait(self, state: RetryCallState) -> float:
        outcome = state.outcome
        error = outcome.exception() if outcome is not None else None
        if isinstance(error, _Retryable) and error.wait is not None:
            return error.wait
        backoff = self.config.backoff_seconds * 2 ** (state.attempt_number - 1)
        return float(min(backoff, _MAX_BACKOFF_SECONDS))

    async def _attempt(self, body: dict[str, Any], headers: dict[str, str]) -> Completion:
        trial = self.breaker.state is BreakerState.half_open
        self.breaker.before_call()
        try:
            response = await self._http.post(self.protocol.path, json=body, headers=headers)
            data = response.json() if response.status_code < 300 else None
        except (httpx.TransportError, ValueError) as exc:
            # ValueError: a 2xx whose body is not JSON; TransportError includes timeouts
            # and bodies cut short (the peer closed before Content-Length was reached).
            self.breaker.record_failure()
            log.warning("llm_call_failed", error=type(exc).__name__)
            raise _Retryable(f"{type(exc).__name__} talking to the endpoint") from exc
        except BaseException:
            # Cancelled (the caller went away) during the half-open trial: without an
            # outcome the breaker would wait for this trial forever.
            if trial:
                self.breaker.record_failure()
            raise
        status = response.status_code
        if status == 429:
            self.breaker.record_success()  # it answered: up, only busy
            wait = retry_after_seconds(response.headers)
            if wait is not None and wait > self.config.retry_after_max_seconds:
                raise LLMUnavailableError(
                    f"The LLM endpoint is rate limiting for {wait:.0f}s.",
                    retry_after=wait,
                    details={"retry_after_seconds": math.ceil(wait)},
                )
            log.info("llm_rate_limited", retry_after=wait)
            raise _Retryable("rate limited (429)", wait=wait)
        if status in _RETRYABLE_STATUS:
            self.breaker.record_failure()
            log.warning("llm_call_failed", status=status)
            asked = retry_after_seconds(response.headers)
            wait = None if asked is None else min(asked, self.config.retry_after_max_seconds)
            raise _Retryable(f"status {status}", wait=wait)
        if status >= 300:
            self.breaker.record_success()
            # The answer is logged, not returned: providers echo (masked) keys in it.
            log.warning("llm_call_refused", status=status, answer=response.text[:500])
            raise LLMUnavailableError(
                f"The LLM endpoint refused the request with status {status}; "
                "check DEVGEN_LLM_BASE_URL, DEVGEN_LLM_API_KEY and DEVGEN_LLM_MODEL.",
                details={"status": status},
            )
        try:
            completion = self.protocol.parse(data)
        except ProtocolError as exc:
            self.breaker.record_failure()
            raise _Retryable(f"malformed answer: {exc}") from exc
        self.breaker.record_success()
        return completion
