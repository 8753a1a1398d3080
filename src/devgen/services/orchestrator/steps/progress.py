"""Codegen's progress, turned into the run's step progress notes while a call is pending.

Codegen keeps a generation's notes under the request's ``Idempotency-Key`` (``GET
/codegen/progress/{key}``, readable from any codegen replica: they are in its database),
so the generate step reads them every ``orchestrator_progress_poll_seconds`` while its
``POST /codegen/generate`` runs, and once more when it has returned. Polling works the
same in both shapes: the all-in-one's in-process transport hands a response over only
when it is complete, so a streamed answer could not carry progress there. Per poll, a
piece of work's end (a file written, a review round done) is one note each; what is in
flight is one note, the newest. Reading progress never fails the step: an error is
logged and the next poll tries again.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable
from typing import Any, TypeVar

import structlog

from devgen.services.orchestrator.steps.base import StepContext

log = structlog.get_logger(__name__)
T = TypeVar("T")

PROGRESS_PATH = "/api/v1/codegen/progress/{key}"
_FINAL = frozenset({"done", "failed"})
_GIVE_UP_AFTER = 5


def _message(entry: dict[str, Any]) -> str:
    """``engineer wrote app/main.py (812 tokens)``, ``reviewer reviewing (round 2)``."""
    role = str(entry.get("role", "model")).replace("_", " ")
    subject = str(entry.get("file") or entry.get("what") or "")
    tokens = int(entry.get("tokens") or 0)
    round_number = entry.get("round")
    state = entry.get("state")
    verb = {
        "started": "starts",
        "writing": "is writing",
        "done": "wrote",
        "failed": "failed on",
    }.get(str(state), str(state))
    text = f"{role} {verb} {subject}".rstrip()
    if round_number is not None:
        text += f" (review round {round_number})"
    if tokens and state != "started":
        text += f": {tokens} tokens" if state == "writing" else f" ({tokens} tokens)"
    return text


class ProgressFollower:
    """Reads one codegen call's progress and notes it on the run."""

    def __init__(self, context: StepContext, key: str) -> None:
        self._context = context
        self._key = key
        self._after = 0
        self._failures = 0

    async def poll(self) -> None:
        """Note what is new since the last poll (never raises).

        After ``_GIVE_UP_AFTER`` failed polls in a row it stops asking: a codegen in trouble
        is not asked more (its circuit breaker counts these calls too).
        """
        if self._failures >= _GIVE_UP_AFTER:
            return
        try:
            response = await self._context.services.request(
                "codegen",
                "GET",
                PROGRESS_PATH.format(key=self._key),
                params={"after": self._after},
                read_timeout=10.0,
            )
            if response.status_code >= 500:
                self._failed(f"HTTP {response.status_code}")
                return
            if response.status_code != 200:
                return  # 404: nothing written yet
            data = response.json()["data"]
            entries = [e for e in data.get("entries") or [] if int(e["seq"]) > self._after]
            self._after = max(int(data.get("last") or 0), self._after)
            await self._note(entries)
        except Exception:  # progress is a courtesy: the generation goes on without it
            self._failures += 1
            log.warning(
                "generation_progress_poll_failed",
                key=self._key,
                giving_up=self._failures >= _GIVE_UP_AFTER,
                exc_info=True,
            )
            return
        self._failures = 0

    def _failed(self, reason: str) -> None:
        self._failures += 1
        log.warning(
            "generation_progress_poll_failed",
            key=self._key,
            reason=reason,
            giving_up=self._failures >= _GIVE_UP_AFTER,
        )

    async def _note(self, entries: list[dict[str, Any]]) -> None:
        finals = [e for e in entries if e.get("state") in _FINAL]
        in_flight = [e for e in entries if e.get("state") not in _FINAL]
        newest = in_flight[-1] if in_flight else None
        if newest is not None and finals and int(finals[-1]["seq"]) > int(newest["seq"]):
            newest = None  # that work has ended since: its final note says more
        for entry in [*finals, *([newest] if newest else [])]:
            await self._context.progress(
                _message(entry),
                source="codegen",
                state=entry.get("state"),
                role=entry.get("role"),
                what=entry.get("what"),
                file=entry.get("file"),
                round=entry.get("round"),
                tokens=entry.get("tokens"),
                usage_tokens=entry.get("usage_tokens"),
            )


async def following_progress(context: StepContext, key: str, call: Awaitable[T]) -> T:
    """``call``'s result, noting codegen's progress under ``key`` while it is pending."""
    follower = ProgressFollower(context, key)
    task = asyncio.ensure_future(call)
    interval = context.settings.orchestrator_progress_poll_seconds
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=interval)
            if done:
                break
            await follower.poll()
    except BaseException:
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
        raise
    result = task.result()  # the call's own error, as it would be without following
    await follower.poll()  # the last files' final notes
    return result
