"""One chat model over HTTP: timeouts, retries with back-off, ``Retry-After``, a circuit breaker.

- 429 waits what ``Retry-After`` (or ``retry-after-ms``) says, up to a cap, then retries;
  a longer wait is not sat out: the caller gets the time to come back.
- 5xx, 529, connection failures, timeouts, truncated bodies and 2xx bodies that are not
  the protocol's JSON are retried with exponential back-off, at most ``max_retries`` times.
- Other 4xx (a wrong key, an unknown model) are configuration errors: not retried.
- The breaker counts failed attempts across requests and fails fast while the endpoint is
  down, so a dead model does not hold every generation request for its full timeout.
- Every answered call is charged to the request's :class:`Meter` before its text is used;
  so is a call that timed out or was cut off after the endpoint took it, since the
  provider still bills it: what a cut stream delivered, or (not streamed, so unknown)
  the prompt and every output token the call was allowed.
- Streamed answers (``stream``) report progress to a callback (``on_progress``, or the
  one installed with :func:`reporting_progress`) and are cut when silent for
  ``stream_idle_seconds``; the cut is retried like a timeout.
- JSON answers use the endpoint's structured output when it is on; an endpoint that
  refuses the parameter (400 naming it) is asked without it from then on, and the
  answer is read with the fence parser.
"""

from __future__ import annotations

import contextlib
import contextvars
import email.utils
import json
import math
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

import anyio
import httpx
import structlog
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
)

from devgen.kit.breaker import BreakerState, CircuitBreaker, CircuitOpenError
from devgen.services.codegen.engines.llm.budget import Meter, estimate_tokens
from devgen.services.codegen.engines.llm.errors import LLMUnavailableError
from devgen.services.codegen.engines.llm.protocols import (
    Completion,
    Message,
    ProtocolError,
    Schema,
    StreamError,
    StreamReader,
    WireProtocol,
    protocol_for,
)
from devgen.services.codegen.engines.llm.settings import LLMSettings
from devgen.services.codegen.metrics import record_completion

log = structlog.get_logger(__name__)

_RETRYABLE_STATUS = frozenset({500, 502, 503, 504, 529})
_MAX_BACKOFF_SECONDS = 8.0


_PROGRESS_EVERY_CHARS = 200
# Words in a 400 that say the endpoint does not know the structured-output parameters.
_STRUCTURED_PARAMETERS = ("response_format", "json_schema", "tool_choice", "tools")


@dataclass(frozen=True)
class Progress:
    """How far a streamed answer has come (reported while it arrives, and once at the end)."""

    chars: int
    estimated_tokens: int
    done: bool = False


ProgressCallback = Callable[[Progress], None]
_progress_listener: contextvars.ContextVar[ProgressCallback | None] = contextvars.ContextVar(
    "llm_progress_listener", default=None
)


@contextlib.contextmanager
def reporting_progress(callback: ProgressCallback) -> Iterator[None]:
    """Send the progress of every streamed call made inside the block to ``callback``.

    How a run turns model progress into its events without the engine passing a
    callback down to every call.
    """
    token = _progress_listener.set(callback)
    try:
        yield
    finally:
        _progress_listener.reset(token)


class _Retryable(Exception):
    """One failed attempt worth another try; ``wait`` overrides the back-off."""

    def __init__(self, reason: str, *, wait: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.wait = wait


class _StructuredRefused(Exception):
    """The endpoint answered 400 to the structured-output parameters."""


@dataclass
class _Call:
    """One call's request and what the budget needs to charge a failed attempt."""

    body: dict[str, Any]
    headers: dict[str, str]
    meter: Meter
    prompt_chars: int
    prompt_tokens: int  # estimated
    allowed_output: int
    on_progress: ProgressCallback | None


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
    stream: bool = False
    stream_idle_seconds: float = 30.0
    reasoning: bool = False
    structured_output: bool = False
    max_continuations: int = 2

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
            stream=settings.llm_stream,
            stream_idle_seconds=settings.llm_stream_idle_seconds,
            reasoning=settings.reasoning,
            structured_output=settings.structured_output,
            max_continuations=settings.llm_max_continuations,
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
        self.structured_output = config.structured_output  # turned off when refused
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
        self,
        system: str,
        messages: Sequence[Message],
        *,
        meter: Meter,
        max_tokens: int,
        schema: Schema | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> Completion:
        """One answer to ``messages``, charged to ``meter``.

        ``schema`` asks for JSON of that shape through the endpoint's structured output
        when it has one (the answer's ``text`` is then the JSON). Raises
        :class:`BudgetExceededError` before calling when the budget cannot cover the
        call, and :class:`LLMUnavailableError` when the endpoint cannot answer.
        """
        prompt_chars = len(system) + sum(len(m.content) for m in messages)
        allowed = meter.allowance(prompt_chars, max_tokens)
        wants_schema = schema is not None and self.structured_output
        try:
            completion = await self._send(
                self._call(system, messages, meter, prompt_chars, allowed, schema, on_progress)
                if wants_schema
                else self._call(system, messages, meter, prompt_chars, allowed, None, on_progress)
            )
        except _StructuredRefused:
            log.warning("llm_structured_output_refused", model=self.config.model)
            self.structured_output = False
            completion = await self._send(
                self._call(system, messages, meter, prompt_chars, allowed, None, on_progress)
            )
        if completion.usage_estimated and completion.input_tokens == 0:
            # Some local servers report no usage; count the prompt rather than nothing.
            completion = replace(completion, input_tokens=math.ceil(prompt_chars / 4))
        meter.record(
            completion.input_tokens,
            completion.output_tokens,
            reasoning_tokens=completion.reasoning_tokens,
        )
        record_completion(
            self.config.model,
            completion.input_tokens,
            completion.output_tokens,
            meter.prices.cost(completion.input_tokens, completion.output_tokens),
        )
        return completion

    def _call(
        self,
        system: str,
        messages: Sequence[Message],
        meter: Meter,
        prompt_chars: int,
        allowed: int,
        schema: Schema | None,
        on_progress: ProgressCallback | None,
    ) -> _Call:
        body = self.protocol.body(
            model=self.config.model,
            system=system,
            messages=messages,
            max_tokens=allowed,
            temperature=self.config.temperature,
            stream=self.config.stream,
            schema=schema,
            reasoning=self.config.reasoning,
        )
        return _Call(
            body=body,
            headers=self.protocol.headers(self.config.api_key),
            meter=meter,
            prompt_chars=prompt_chars,
            prompt_tokens=estimate_tokens(prompt_chars),
            allowed_output=allowed,
            on_progress=on_progress or _progress_listener.get(),
        )

    async def _send(self, call: _Call) -> Completion:
        try:
            async for attempt in AsyncRetrying(
                stop=stop_after_attempt(self.config.max_retries + 1),
                wait=self._wait,
                retry=retry_if_exception_type(_Retryable),
                reraise=True,
            ):
                with attempt:
                    return await self._attempt(call)
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

    def _bill_failure(self, call: _Call, reason: str, *, input_tokens: int, output: int) -> None:
        """Charge what a failed attempt the provider took may cost, and say so in the log."""
        call.meter.record_failure(input_tokens, output)
        log.info("llm_failed_call_billed", reason=reason, input=input_tokens, output=output)

    def _refit(self, call: _Call) -> None:
        """Shrink a retry to what the budget has left after a billed failure (or refuse it)."""
        allowed = call.meter.allowance(call.prompt_chars, call.allowed_output)
        if allowed < call.allowed_output:
            call.allowed_output = allowed
            for key in ("max_tokens", "max_completion_tokens"):
                if key in call.body:
                    call.body[key] = allowed

    async def _attempt(self, call: _Call) -> Completion:
        if call.meter.usage.billed_failures:
            self._refit(call)
        trial = self.breaker.state is BreakerState.half_open
        self.breaker.before_call()
        try:
            if self.config.stream:
                return await self._attempt_stream(call)
            return await self._attempt_whole(call)
        except (_Retryable, _StructuredRefused, LLMUnavailableError):
            raise  # the attempt had an outcome, already told to the breaker
        except BaseException:
            # Cancelled (the caller went away) during the half-open trial: without an
            # outcome the breaker would wait for this trial forever.
            if trial:
                self.breaker.record_failure()
            raise

    async def _attempt_whole(self, call: _Call) -> Completion:
        sent = False
        try:
            async with self._http.stream(
                "POST", self.protocol.path, json=call.body, headers=call.headers
            ) as response:
                sent = True
                await response.aread()
            data = response.json() if response.status_code < 300 else None
        except (httpx.TransportError, ValueError) as exc:
            # ValueError: a 2xx whose body is not JSON; TransportError includes timeouts
            # and bodies cut short (the peer closed before Content-Length was reached).
            self.breaker.record_failure()
            log.warning("llm_call_failed", error=type(exc).__name__)
            if (sent and response.status_code < 300) or _taken(exc):
                # The endpoint had the request: it may bill all it was allowed to write.
                self._bill_failure(
                    call,
                    type(exc).__name__,
                    input_tokens=call.prompt_tokens,
                    output=call.allowed_output,
                )
            raise _Retryable(f"{type(exc).__name__} talking to the endpoint") from exc
        self._check_status(response, call)
        try:
            completion = self.protocol.parse(data)
        except ProtocolError as exc:
            self.breaker.record_failure()
            raise _Retryable(f"malformed answer: {exc}") from exc
        self.breaker.record_success()
        return completion

    async def _attempt_stream(self, call: _Call) -> Completion:
        reader = self.protocol.stream_reader()
        try:
            async with self._http.stream(
                "POST", self.protocol.path, json=call.body, headers=call.headers
            ) as response:
                if response.status_code >= 300:
                    await response.aread()
                    self._check_status(response, call)
                await self._read_events(response, reader, call)
        except (httpx.TransportError, TimeoutError, StreamError, ProtocolError) as exc:
            self.breaker.record_failure()
            reason = "the stream stalled" if isinstance(exc, TimeoutError) else str(exc)[:200]
            log.warning("llm_stream_failed", error=type(exc).__name__, reason=reason)
            if reader.chars or reader.input_tokens is not None or _taken(exc):
                got = reader.completion()
                self._bill_failure(
                    call,
                    reason,
                    input_tokens=got.input_tokens or call.prompt_tokens,
                    output=got.output_tokens if reader.chars else 0,
                )
            raise _Retryable(f"{type(exc).__name__} in the stream: {reason}") from exc
        if not reader.done:
            self.breaker.record_failure()
            got = reader.completion()
            self._bill_failure(
                call,
                "stream ended early",
                input_tokens=got.input_tokens or call.prompt_tokens,
                output=got.output_tokens if reader.chars else 0,
            )
            raise _Retryable("the stream ended before its last event")
        self.breaker.record_success()
        completion = reader.completion()
        self._report(call, Progress(reader.chars, estimate_tokens(reader.chars), done=True))
        return completion

    async def _read_events(
        self, response: httpx.Response, reader: StreamReader, call: _Call
    ) -> None:
        """Feed each server-sent event to ``reader``; a silence too long raises TimeoutError."""
        reported = 0
        async for event, data in _events(response.aiter_lines(), self.config.stream_idle_seconds):
            try:
                payload: Any = json.loads(data)
            except json.JSONDecodeError:
                payload = data
            if reader.feed(event, payload) and reader.chars - reported >= _PROGRESS_EVERY_CHARS:
                reported = reader.chars
                self._report(call, Progress(reported, estimate_tokens(reported)))
            if reader.done:
                return

    def _report(self, call: _Call, progress: Progress) -> None:
        if call.on_progress is None:
            return
        try:
            call.on_progress(progress)
        except Exception:  # a listener's bug must not fail the model call
            log.exception("llm_progress_listener_failed")

    def _check_status(self, response: httpx.Response, call: _Call) -> None:
        """Raise what a non-2xx status means; return on 2xx."""
        status = response.status_code
        if status < 300:
            return
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
        self.breaker.record_success()
        answer = response.text[:500]
        structured = "response_format" in call.body or "tool_choice" in call.body
        if status == 400 and structured and any(p in answer for p in _STRUCTURED_PARAMETERS):
            raise _StructuredRefused(answer)
        # The answer is logged, not returned: providers echo (masked) keys in it.
        log.warning("llm_call_refused", status=status, answer=answer)
        raise LLMUnavailableError(
            f"The LLM endpoint refused the request with status {status}; "
            "check DEVGEN_LLM_BASE_URL, DEVGEN_LLM_API_KEY and DEVGEN_LLM_MODEL.",
            details={"status": status},
        )


def _taken(exc: BaseException) -> bool:
    """Whether the endpoint had the whole request when ``exc`` happened (so it may bill)."""
    return isinstance(exc, httpx.ReadTimeout | httpx.RemoteProtocolError | httpx.ReadError)


async def _events(lines: AsyncIterator[str], idle_seconds: float) -> AsyncIterator[tuple[str, str]]:
    """``(event, data)`` of each server-sent event; TimeoutError after ``idle_seconds`` of
    nothing but pings and comments."""
    event, data = "", []
    iterator = lines.__aiter__()
    deadline = anyio.current_time() + idle_seconds
    while True:
        try:
            with anyio.fail_after(max(deadline - anyio.current_time(), 0)):
                line = await iterator.__anext__()
        except StopAsyncIteration:
            return
        if line.startswith(":"):
            continue  # a comment: some servers keep the connection alive with these
        if line:
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "event":
                event = value
            elif name == "data":
                data.append(value)
            continue
        if data:
            if event != "ping":
                deadline = anyio.current_time() + idle_seconds
            yield event, "\n".join(data)
        event, data = "", []
