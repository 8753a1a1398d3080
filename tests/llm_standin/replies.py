"""The canned answers a test queues on the stand-in, one per request."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

ReplyKind = Literal["text", "error", "truncated", "malformed"]
# Why the stand-in says the answer ended. Sent as each protocol says it: OpenAI
# finish_reason stop/length/content_filter (a refusal is message.refusal); Anthropic
# stop_reason end_turn/max_tokens/refusal (it has no content filter: refusal).
Finish = Literal["stop", "length", "content_filter", "refusal"]


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
    finish: Finish = "stop"
    # JSON the answer holds: given as the request asks for it (a json_schema reply, a
    # forced tool call's input, or a ```json fence when the request asked for neither).
    data: Any = None
    reasoning_tokens: int = 0  # OpenAI reasoning models: inside completion_tokens
    # Streaming (when the request asks for it): characters per delta, and misbehaviour:
    # stop sending after this many deltas and wait for the client to give up (stall),
    # or end the stream there without its last events (cut). Not streamed, a stall
    # holds the whole answer back.
    chunk_chars: int = 40
    stall_after: int | None = None
    cut_after: int | None = None
    keepalive_seconds: float | None = None  # while stalled, send keep-alives this often
    error_after: int | None = None  # streamed: an error event (overloaded) after this many


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
    """An answer holding ``data`` as JSON (fenced as ```json by default).

    A request asking for structured output gets ``data`` in that form instead, when the
    stand-in offers it (``LLMStandIn(structured=...)``).
    """
    body = json.dumps(data, indent=2)
    return Reply(text=f"```json\n{body}\n```" if fence else body, usage=usage, data=data)


def chatty(code: str, path: str, *, lang: str = "python") -> Reply:
    """Prose before and after, the path in bold above the fence, as chat models answer."""
    body = code if code.endswith("\n") else code + "\n"
    return Reply(
        text=(
            f"Sure! Below is the complete implementation of `{path}`. I kept it small and "
            "followed the plan.\n\n"
            f"**{path}**\n```{lang}\n{body}```\n\n"
            "### Notes\n- Run the tests with `pytest -q`.\n- Let me know if you want changes!"
        )
    )


def multi_fence(files: dict[str, str], *, lang: str = "python", example: str = "") -> Reply:
    """Several files in one answer, each fence labelled with its path, and maybe a usage
    example in a plain ``python`` fence first (which must not be taken for a file)."""
    parts = ["I wrote the files you need."]
    if example:
        parts.append(f"For example, you would use it like this:\n\n```{lang}\n{example}\n```")
    for path, code in files.items():
        body = code if code.endswith("\n") else code + "\n"
        parts.append(f"```{lang} {path}\n{body}```")
    parts.append("That's all.")
    return Reply(text="\n\n".join(parts))


def refusing(words: str = "I'm sorry, but I can't help with that.") -> Reply:
    """The model declines in words (OpenAI sends them as ``message.refusal``, Anthropic
    stops with ``stop_reason: refusal``)."""
    return Reply(text=words, finish="refusal")


def refusing_in_text(words: str = "I can't help with that.") -> Reply:
    """A refusal in the answer's text, with an ordinary stop (as most models do it)."""
    return Reply(text=words)


def filtered(partial: str = "") -> Reply:
    """The provider's content filter withheld (the rest of) the answer."""
    return Reply(text=partial, finish="content_filter")


def empty() -> Reply:
    """A 200 with an empty answer."""
    return Reply(text="")


def reasoning(content: str, *, reasoning_tokens: int, visible_tokens: int = 50) -> Reply:
    """A reasoning model's answer: its hidden reasoning tokens count in the usage."""
    return Reply(
        text=content,
        usage=(200, visible_tokens + reasoning_tokens),
        reasoning_tokens=reasoning_tokens,
    )


def streamed(content: str, *, chunk_chars: int = 16) -> Reply:
    """An answer sent in small deltas (when the request streams)."""
    return Reply(text=content, chunk_chars=chunk_chars)


def stalled(
    content: str, *, after: int = 2, chunk_chars: int = 16, keepalive: float | None = None
) -> Reply:
    """A stream that stops after ``after`` deltas and never finishes (or, not streamed,
    an answer that never comes); with ``keepalive``, pings keep the connection busy."""
    return Reply(
        text=content, chunk_chars=chunk_chars, stall_after=after, keepalive_seconds=keepalive
    )


def cut_stream(content: str, *, after: int = 2, chunk_chars: int = 16) -> Reply:
    """A stream that ends after ``after`` deltas without its final events."""
    return Reply(text=content, chunk_chars=chunk_chars, cut_after=after)


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


def overloaded_mid_stream(content: str, *, after: int = 2, chunk_chars: int = 16) -> Reply:
    """A stream that reports an error after ``after`` deltas (Anthropic ``event: error``
    with ``overloaded_error``; an ``{"error": ...}`` chunk for OpenAI-compatible servers)."""
    return Reply(text=content, chunk_chars=chunk_chars, error_after=after)


def brief(
    *,
    goals: list[str] | None = None,
    requirements: list[tuple[str, str, str]] | None = None,
    open_questions: list[str] | None = None,
    stories: list[str] | None = None,
    usage: tuple[int, int] | None = None,
) -> Reply:
    """The product manager's brief: ``requirements`` as (id, priority, text)."""
    return json_answer(
        {
            "goals": goals or ["The service does what the requirement asks"],
            "user_stories": stories or [],
            "requirements": [
                {"id": rid, "priority": priority, "text": text}
                for rid, priority, text in requirements or [("R1", "P0", "Store the records")]
            ],
            "open_questions": [
                {"question": q, "context": "the requirement does not say"}
                for q in open_questions or []
            ],
        },
        usage=usage,
    )


def design(
    class_diagram: str,
    *,
    files: list[dict[str, Any]],
    apis: list[tuple[str, str, str]] | None = None,
    notes: str = "",
    usage: tuple[int, int] | None = None,
) -> Reply:
    """The architect's design: a Mermaid class diagram, ``apis`` as (method, path, summary),
    and the file plan."""
    return json_answer(
        {
            "class_diagram": class_diagram,
            "apis": [
                {"method": m, "path": p, "summary": s}
                for m, p, s in apis or [("GET", "/health", "liveness")]
            ],
            "files": files,
            "notes": notes,
        },
        usage=usage,
    )


def review(
    verdict: str,
    *reasons: str,
    changes: dict[str, str] | None = None,
    usage: tuple[int, int] | None = None,
) -> Reply:
    """The reviewer's answer: ``approve`` or ``change`` with ``changes`` (path → what)."""
    return json_answer(
        {
            "verdict": verdict,
            "reasons": list(reasons) or ["The work meets the requirement"],
            "changes": [{"path": p, "change": c} for p, c in (changes or {}).items()],
        },
        usage=usage,
    )
