"""A small async-friendly circuit breaker for calls to another service.

Closed: calls go through and consecutive failures are counted. After
``failure_threshold`` failures it opens and calls fail fast for
``reset_seconds``; then one trial call is let through (half-open) and its
outcome closes or reopens the circuit. A trial that ends with no outcome
(cancelled, say) is ``release``d, so the next call becomes the trial; the
circuit never stays open for good. Every change of state is logged and
counted (``devgen_breaker_transitions_total``). (pybreaker, the usual choice,
only supports Tornado coroutines, so the few lines are written here.)
"""

from __future__ import annotations

import time
from enum import StrEnum

import structlog

from devgen.kit.metrics import breaker_transitions

log = structlog.get_logger(__name__)


class BreakerState(StrEnum):
    """The three states of a circuit breaker."""

    closed = "closed"
    open = "open"
    half_open = "half_open"


class CircuitOpenError(Exception):
    """Raised instead of calling a dependency whose circuit is open."""

    def __init__(self, name: str, retry_in: float) -> None:
        super().__init__(f"circuit for {name} is open; retry in {retry_in:.1f}s")
        self.name = name
        self.retry_in = retry_in


class CircuitBreaker:
    """Counts failures of one dependency and fails fast while it is down."""

    def __init__(self, name: str, *, failure_threshold: int = 5, reset_seconds: float = 15.0):
        self.name = name
        self.failure_threshold = failure_threshold
        self.reset_seconds = reset_seconds
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_in_flight = False

    @property
    def state(self) -> BreakerState:
        """The current state, derived from the failure count and the clock."""
        if self._opened_at is None:
            return BreakerState.closed
        if time.monotonic() - self._opened_at >= self.reset_seconds:
            return BreakerState.half_open
        return BreakerState.open

    def before_call(self) -> None:
        """Raise ``CircuitOpenError`` when the call must not be attempted."""
        state = self.state
        if state is BreakerState.open or (
            state is BreakerState.half_open and self._trial_in_flight
        ):
            assert self._opened_at is not None
            retry_in = self.reset_seconds - (time.monotonic() - self._opened_at)
            raise CircuitOpenError(self.name, max(retry_in, 0.0))
        if state is BreakerState.half_open:
            self._trial_in_flight = True
            self._changed(BreakerState.half_open)

    def record_success(self) -> None:
        """A call succeeded: close the circuit."""
        was_open = self._opened_at is not None
        self._failures = 0
        self._opened_at = None
        self._trial_in_flight = False
        if was_open:
            self._changed(BreakerState.closed)

    def record_failure(self) -> None:
        """A call failed: count it and open the circuit at the threshold."""
        previous = self.state
        self._trial_in_flight = False
        self._failures += 1
        if self._failures >= self.failure_threshold or self._opened_at is not None:
            self._opened_at = time.monotonic()
            if previous is not BreakerState.open:
                self._changed(BreakerState.open)

    def release(self) -> None:
        """A call ended with neither outcome (cancelled): the next call may be the trial."""
        self._trial_in_flight = False

    def _changed(self, state: BreakerState) -> None:
        breaker_transitions().labels(target=self.name, state=state.value).inc()
        log.warning(
            "circuit_breaker_changed",
            target=self.name,
            state=state.value,
            consecutive_failures=self._failures,
            reset_seconds=self.reset_seconds,
        )
