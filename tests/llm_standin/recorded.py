"""Replaying recorded conversations: the stand-in answers from files in the test data.

A recording is a directory ``tests/llm_standin/recordings/<example>/`` holding
``conversation.json``::

    {
      "example": "docs/requirements/helpdesk-sla.txt",
      "exchanges": [
        {"expect": ["a phrase the prompt must hold", "..."], "reply_file": "01-extension.md"},
        {"expect": ["..."], "reply": "an answer written inline", "usage": [1200, 300]}
      ]
    }

Requests are answered in order, one exchange each. Each exchange names phrases the
request must contain (system prompt and messages together): a request that does not is
answered 500 with what was missing, and so is a request beyond the last exchange, so a
conversation that went another way than the recorded one fails visibly instead of being
answered out of place.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path

from tests.llm_standin.replies import Reply
from tests.llm_standin.server import RecordedRequest

RECORDINGS = Path(__file__).resolve().parent / "recordings"


@dataclass(frozen=True)
class Exchange:
    """One recorded request (what it must say) and its answer."""

    expect: tuple[str, ...]
    reply: Reply
    source: str


class Recording:
    """A recorded conversation, replayed one exchange per request."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        data = json.loads((directory / "conversation.json").read_text("utf-8"))
        self.example: str = data.get("example", "")
        self.exchanges = [
            self._exchange(index, item) for index, item in enumerate(data["exchanges"])
        ]
        self.answered = 0
        self.mismatches: list[str] = []
        self._lock = threading.Lock()

    @classmethod
    def named(cls, name: str) -> Recording:
        """The recording ``recordings/<name>``."""
        return cls(RECORDINGS / name)

    def _exchange(self, index: int, item: dict) -> Exchange:
        if "reply_file" in item:
            text = (self.directory / item["reply_file"]).read_text("utf-8")
            source = item["reply_file"]
        else:
            text, source = item["reply"], f"exchange {index + 1}"
        usage = tuple(item["usage"]) if item.get("usage") else None
        return Exchange(tuple(item.get("expect") or ()), Reply(text=text, usage=usage), source)  # type: ignore[arg-type]

    @property
    def done(self) -> bool:
        """Whether every exchange was answered, and each as recorded."""
        return self.answered == len(self.exchanges) and not self.mismatches

    def __call__(self, request: RecordedRequest) -> Reply:
        """The answer to ``request``: the next exchange's, when the request matches it."""
        with self._lock:
            if self.answered >= len(self.exchanges):
                problem = (
                    f"recording {self.directory.name}: request {self.answered + 1} is beyond "
                    f"the {len(self.exchanges)} recorded"
                )
                self.mismatches.append(problem)
                return Reply(kind="error", status=500, text=problem)
            exchange = self.exchanges[self.answered]
            missing = [phrase for phrase in exchange.expect if phrase not in request.prompt]
            if missing:
                problem = (
                    f"recording {self.directory.name}: request {self.answered + 1} "
                    f"({exchange.source}) does not say {missing}"
                )
                self.mismatches.append(problem)
                return Reply(kind="error", status=500, text=problem)
            self.answered += 1
            return exchange.reply
