"""Holding the stand-in's answers back until a test lets them go.

While a test asserts on what a caller sees *during* a generation, the generation must
not be able to end: a :class:`Gate` answers the requests after the scripted ones only
once :meth:`Gate.open` is called (the stand-in's thread waits on it; nothing else is
asked of the stand-in meanwhile).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable

from tests.llm_standin.replies import Reply
from tests.llm_standin.server import LLMStandIn, RecordedRequest

_WAIT_SECONDS = 120.0


class Gate:
    """Answers with ``replies``, in order, once opened."""

    def __init__(self, standin: LLMStandIn, replies: Iterable[Reply]) -> None:
        self._replies = deque(replies)
        self._open = threading.Event()
        self.waiting = threading.Event()
        standin.respond_with(self._answer)

    def _answer(self, _request: RecordedRequest) -> Reply:
        self.waiting.set()
        self._open.wait(_WAIT_SECONDS)
        if not self._replies:
            return Reply(kind="error", status=500, text="the gate ran out of answers")
        return self._replies.popleft()

    def open(self) -> None:
        """Let the held request (and every later one) be answered."""
        self._open.set()
