"""The state machines of runs and steps, and the transitions they allow.

Every change of state goes through :func:`check_task_transition` or
:func:`check_run_transition`, so an impossible move (a succeeded step
starting again, a cancelled run succeeding) is a bug caught where it
happens rather than a row in a strange state.
"""

from __future__ import annotations

from enum import StrEnum


class State(StrEnum):
    """The states a run or a step can be in."""

    pending = "pending"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"
    retrying = "retrying"
    skipped = "skipped"


TERMINAL: frozenset[State] = frozenset(
    {State.succeeded, State.failed, State.cancelled, State.skipped}
)
"""States nothing leaves."""

DONE_OK: frozenset[State] = frozenset({State.succeeded, State.skipped})
"""States after which the steps that need this one may start."""

_TASK_MOVES: dict[State, frozenset[State]] = {
    State.pending: frozenset({State.running, State.skipped, State.cancelled}),
    # running -> running is a takeover: another worker claimed an expired lease.
    State.running: frozenset(
        {
            State.running,
            State.succeeded,
            State.failed,
            State.retrying,
            State.cancelled,
            State.skipped,
        }
    ),
    State.retrying: frozenset({State.running, State.cancelled, State.skipped}),
}

_RUN_MOVES: dict[State, frozenset[State]] = {
    State.pending: frozenset({State.running, State.cancelled, State.failed}),
    State.running: frozenset({State.succeeded, State.failed, State.cancelled}),
}


class InvalidTransition(RuntimeError):
    """A state change the machine does not allow (a bug, never a client error)."""


def check_task_transition(current: str, target: State) -> State:
    """``target`` if a step may move there from ``current``; raises otherwise."""
    if target not in _TASK_MOVES.get(State(current), frozenset()):
        raise InvalidTransition(f"a step cannot go from {current} to {target}")
    return target


def check_run_transition(current: str, target: State) -> State:
    """``target`` if a run may move there from ``current``; raises otherwise."""
    if target not in _RUN_MOVES.get(State(current), frozenset()):
        raise InvalidTransition(f"a run cannot go from {current} to {target}")
    return target


def is_terminal(state: str) -> bool:
    """Whether nothing more happens to a run or step in ``state``."""
    return State(state) in TERMINAL
