"""Answers recorded in files: a test replays a realistic conversation through the stand-in.

A recording is a directory of Markdown files, one answer each, used in the order of their
names (``01-plan.md``, ``02-main.md``...). A file may start with an HTML comment of
``key: value`` lines saying when and how it is answered::

    <!-- when: app/main.py
    finish: length
    usage: 1200, 800 -->
    Here is the file...

- ``when``: a text the request's last user message must contain for this answer to be
  given (so the answer to "write app/main.py" is not given to the request for the tests);
  without it, the answer fits any request;
- ``finish``: ``stop`` (default), ``length``, ``content_filter`` or ``refusal``;
- ``usage``: input and output tokens (estimated from the texts when absent);
- ``data: json``: the answer holds JSON (its ```json fence, or the whole text), given as
  structured output when the request asks for it.

Each answer is given once: a request is answered with the first unused answer that fits,
and a request no answer fits gets a 500 naming it, so a test that strays from the
recorded conversation fails visibly. ``unused`` lists what the test did not ask for.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.llm_standin.replies import Reply
from tests.llm_standin.server import RecordedRequest

_HEADER = re.compile(r"\A<!--(?P<header>.*?)-->\n?", re.DOTALL)
_FINISHES = {"stop", "length", "content_filter", "refusal"}


@dataclass(frozen=True)
class RecordedAnswer:
    """One recorded answer and the condition it is given on."""

    name: str
    reply: Reply
    when: str = ""


def _answer(path: Path) -> RecordedAnswer:
    text = path.read_text("utf-8")
    fields: dict[str, str] = {}
    if match := _HEADER.match(text):
        text = text[match.end() :]
        for line in match.group("header").strip().splitlines():
            key, sep, value = line.partition(":")
            if not sep:
                raise ValueError(f"{path}: header line {line!r} is not `key: value`")
            fields[key.strip().lower()] = value.strip()
    unknown = set(fields) - {"when", "finish", "usage", "data"}
    if unknown:
        raise ValueError(f"{path}: unknown header keys {sorted(unknown)}")
    finish = fields.get("finish", "stop")
    if finish not in _FINISHES:
        raise ValueError(f"{path}: finish must be one of {sorted(_FINISHES)}")
    usage: tuple[int, int] | None = None
    if "usage" in fields:
        numbers = [int(n) for n in re.split(r"[,\s]+", fields["usage"]) if n]
        if len(numbers) != 2:
            raise ValueError(f"{path}: usage is `input, output`")
        usage = (numbers[0], numbers[1])
    data: Any = None
    if fields.get("data") == "json":
        fence = re.search(r"^```json\n(?P<body>.*?)^```", text, re.MULTILINE | re.DOTALL)
        data = json.loads(fence.group("body") if fence else text)
    reply = Reply(text=text, finish=finish, usage=usage, data=data)  # type: ignore[arg-type]
    return RecordedAnswer(path.name, reply, fields.get("when", ""))


class Recording:
    """A recorded conversation; pass :meth:`responder` to ``LLMStandIn.respond_with``."""

    def __init__(self, answers: list[RecordedAnswer]) -> None:
        self.answers = answers
        self._used: set[int] = set()
        self._lock = threading.Lock()

    @classmethod
    def load(cls, directory: Path) -> Recording:
        """The answers in ``directory``'s ``*.md`` files, in the order of their names."""
        files = sorted(directory.glob("*.md"))
        if not files:
            raise ValueError(f"no recorded answers (*.md) in {directory}")
        return cls([_answer(path) for path in files])

    def responder(self, request: RecordedRequest) -> Reply:
        """The first unused answer that fits ``request`` (a 500 naming it when none does)."""
        asked = request.last_user
        with self._lock:
            for index, answer in enumerate(self.answers):
                if index not in self._used and answer.when in asked:
                    self._used.add(index)
                    return answer.reply
        return Reply(
            kind="error",
            status=500,
            text=f"the recording has no answer for a request asking: {asked[:200]!r}",
        )

    @property
    def unused(self) -> list[str]:
        """Names of the answers no request has been given yet."""
        with self._lock:
            return [a.name for i, a in enumerate(self.answers) if i not in self._used]
