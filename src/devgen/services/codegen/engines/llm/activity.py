"""What the model is working on, for whoever follows a generation's progress.

The engines mark each model call with :func:`working_on` (the role, what it writes, the
file, the review round); a listener installed with :func:`following` hears when a piece
of work starts, how far its streamed answer has come, and when it ends. Nothing is passed
down through the engines: both are context variables, so an engine that nobody follows
pays nothing, and a listener's bug is logged, never raised into the generation.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

import structlog

from devgen.services.codegen.engines.llm.client import Progress, reporting_progress

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Activity:
    """One piece of model work: ``role`` writes ``what`` (a ``file``, in a review ``round``)."""

    role: str
    what: str
    file: str | None = None
    round: int | None = None


class ActivityListener(Protocol):
    """Hears the model's work while a generation runs (every method must return quickly)."""

    def started(self, activity: Activity) -> None:
        """``activity`` begins (before its first model call)."""
        ...

    def progressed(self, activity: Activity, progress: Progress) -> None:
        """A streamed answer for ``activity`` has come this far."""
        ...

    def finished(self, activity: Activity, *, failed: bool) -> None:
        """``activity`` ended, with its answer or with an error."""
        ...


_current: contextvars.ContextVar[Activity | None] = contextvars.ContextVar(
    "llm_activity", default=None
)
_listener: contextvars.ContextVar[ActivityListener | None] = contextvars.ContextVar(
    "llm_activity_listener", default=None
)


def _tell(what: str, *args: object, **kwargs: object) -> None:
    listener = _listener.get()
    if listener is None:
        return
    try:
        getattr(listener, what)(*args, **kwargs)
    except Exception:  # following a generation must never fail it
        log.exception("llm_activity_listener_failed", event=what)


@contextlib.contextmanager
def working_on(
    role: str, what: str, *, file: str | None = None, round: int | None = None
) -> Iterator[None]:
    """Mark the model calls made inside the block as ``role`` writing ``what``."""
    activity = Activity(role=role, what=what, file=file, round=round)
    token = _current.set(activity)
    _tell("started", activity)
    failed = True
    try:
        yield
        failed = False
    finally:
        _current.reset(token)
        _tell("finished", activity, failed=failed)


def _streamed(progress: Progress) -> None:
    activity = _current.get()
    if activity is not None:
        _tell("progressed", activity, progress)


@contextlib.contextmanager
def following(listener: ActivityListener) -> Iterator[None]:
    """Tell ``listener`` about the work (and streamed progress) done inside the block."""
    token = _listener.set(listener)
    try:
        with reporting_progress(_streamed):
            yield
    finally:
        _listener.reset(token)
