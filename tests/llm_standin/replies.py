"""The canned answers a test queues on the stand-in, one per request."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

ReplyKind = Literal["text", "error", "truncated", "malformed"]


@dataclass(frozen=True)
class Reply:
    """What the stand-in answers to one request.

    ``usage`` is (input tokens, output tokens); when left out it is estimated from the
    text (four characters a token), as a real server would count *something*.
    """

    kind: ReplyKind = "text"
    text: str = ""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    usage: tuple[int, int] | None = None
    finish: Literal["stop", "length"] = "stop"


def text(content: str, *, usage: tuple[int, int] | None = None) -> Reply:
    """A normal answer whose content is ``content`` exactly."""
    return Reply(text=content, usage=usage)


def fenced(
    code: str,
    *,
    lang: str = "python",
    prose: str = "Here is the file.",
    usage: tuple[int, int] | None = None,
) -> Reply:
    """An answer with ``code`` in a Markdown fence, with some chatter around it, as models do."""
    body = code if code.endswith("\n") else code + "\n"
    return Reply(
        text=f"{prose}\n\n```{lang}\n{body}```\n\nLet me know if you need more.", usage=usage
    )


def json_answer(data: Any, *, fence: bool = True, usage: tuple[int, int] | None = None) -> Reply:
    """An answer holding ``data`` as JSON (fenced as ```json by default)."""
    body = json.dumps(data, indent=2)
    return Reply(text=f"```json\n{body}\n```" if fence else body, usage=usage)


def error(status: int, *, retry_after: str | None = None, message: str = "") -> Reply:
    """An error status in the protocol's own error format (``Retry-After`` when given)."""
    headers = {"retry-after": retry_after} if retry_after is not None else {}
    return Reply(kind="error", status=status, headers=headers, text=message)


def rate_limited(retry_after: str = "1") -> Reply:
    """429 Too Many Requests with ``Retry-After``."""
    return error(429, retry_after=retry_after, message="Rate limit reached; try again later.")


def server_error(status: int = 500) -> Reply:
    """A 5xx answer."""
    return error(status, message="The server had an error while processing your request.")


def truncated(content: str = "") -> Reply:
    """A 200 whose body stops half way (the connection closes early)."""
    return Reply(kind="truncated", text=content or "a perfectly fine answer, cut off")


def malformed() -> Reply:
    """A 200 whose body is not JSON at all."""
    return Reply(kind="malformed")


def cut_off(content: str) -> Reply:
    """An answer the model stopped because it reached ``max_tokens``."""
    return Reply(text=content, finish="length")
