"""A small async-friendly circuit breaker for calls to another service.

Closed: calls go through and consecutive failures are counted. After
``failure_threshold`` failures it opens and calls fail fast, first for
``first_reset_seconds``, then (after each failed trial) twice as long, up to
``reset_seconds``; then one trial call is let through (half-open) and its
outcome closes or reopens the circuit. A caller that learns the target is
back (its health check answers) calls ``target_is_back`` to let the trial
through at once rather than wait out the reset. A trial that ends with no outcome
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

    def __init__(
        self,
        name: str,
        *,
        failure_threshold: int = 5,
        reset_seconds: float = 15.0,
        first_reset_seconds: float | None = None,
    ):
        self.name = name
        self.failure_threshold = failure_threshold
        self.max_reset_seconds = reset_seconds
        self.first_reset_seconds = min(
            first_reset_seconds if first_reset_seconds is not None else reset_seconds,
            reset_seconds,
        )
        self.reset_seconds = self.first_reset_seconds
        """How long the circuit stays open this time."""
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

    def target_is_back(self) -> None:
        """The target answered a health check: let the trial call through now."""
        if self.state is BreakerState.open:
            assert self._opened_at is not None
            self._opened_at = time.monotonic() - self.reset_seconds
            log.info("circuit_breaker_target_back", target=self.name)

    def record_success(self) -> None:
        """A call succeeded: close the circuit."""
        was_open = self._opened_at is not None
        self._failures = 0
        self._opened_at = None
        self._trial_in_flight = False
        self.reset_seconds = self.first_reset_seconds
        if was_open:
            self._changed(BreakerState.closed)

    def record_failure(self) -> None:
        """A call failed: count it and open the circuit at the threshold."""
        previous = self.state
        self._trial_in_flight = False
        self._failures += 1
        if self._failures >= self.failure_threshold or self._opened_at is not None:
            if previous is BreakerState.half_open:
                # The trial failed: wait longer this time.
                self.reset_seconds = min(self.reset_seconds * 2, self.max_reset_seconds)
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
