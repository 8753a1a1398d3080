"""The two wire formats: OpenAI chat completions and Anthropic messages.

Each protocol turns a conversation into a request (path, headers, JSON body) and a
response body back into a :class:`Completion`. Nothing here does I/O, so both are tested
on plain data.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

Role = Literal["user", "assistant"]


@dataclass(frozen=True)
class Message:
    """One turn of a conversation (the system prompt travels separately)."""

    role: Role
    content: str


@dataclass(frozen=True)
class Completion:
    """What the model answered, and what it cost in tokens."""

    text: str
    input_tokens: int
    output_tokens: int
    truncated: bool = False  # stopped because it reached max_tokens
    usage_estimated: bool = False  # the server reported no usage; counted from the text


class ProtocolError(Exception):
    """A 2xx answer whose body is not what the protocol says it is."""


class WireProtocol(Protocol):
    """How one API family is spoken."""

    name: str
    path: str

    def headers(self, api_key: str) -> dict[str, str]:
        """Authentication and version headers."""
        ...

    def body(
        self,
        *,
        model: str,
        system: str,
        messages: Sequence[Message],
        max_tokens: int,
        temperature: float,
    ) -> dict[str, Any]:
        """The JSON request body."""
        ...

    def parse(self, data: Any) -> Completion:
        """The completion in a response body; :class:`ProtocolError` when it has none."""
        ...


def _estimated(text: str) -> int:
    return max(1, math.ceil(len(text) / 4))


class OpenAIChat:
    """``POST {base}/chat/completions``, base URL ending in ``/v1`` (OpenAI, vLLM, Ollama...)."""

    name = "openai"
    path = "chat/completions"

    def headers(self, api_key: str) -> dict[str, str]:
        """``Authorization: Bearer`` (local servers often need none)."""
        return {"Authorization": f"Bearer {api_key}"} if api_key else {}

    def body(
        self,
        *,
        model: str,
        system: str,
        messages: Sequence[Message],
        max_tokens: int,
        temperature: float,
    ) -> dict[str, Any]:
        """The system prompt is the first message."""
        turns = [{"role": "system", "content": system}] if system else []
        turns += [{"role": m.role, "content": m.content} for m in messages]
        return {
            "model": model,
            "messages": turns,
            "max_tokens": max_tokens,
            "temperature": temperature,
            "stream": False,
        }

    def parse(self, data: Any) -> Completion:
        """``choices[0].message.content`` and ``usage.prompt/completion_tokens``."""
        try:
            choice = data["choices"][0]
            content = choice["message"].get("content")
        except (KeyError, IndexError, TypeError, AttributeError) as exc:
            raise ProtocolError("no choices[0].message in the answer") from exc
        text = content if isinstance(content, str) else ""
        usage = data.get("usage") if isinstance(data, dict) else None
        prompt = usage.get("prompt_tokens") if isinstance(usage, dict) else None
        completion = usage.get("completion_tokens") if isinstance(usage, dict) else None
        estimated = not (isinstance(prompt, int) and isinstance(completion, int))
        return Completion(
            text=text,
            input_tokens=prompt if isinstance(prompt, int) else 0,
            output_tokens=completion if isinstance(completion, int) else _estimated(text),
            truncated=choice.get("finish_reason") == "length",
            usage_estimated=estimated,
        )


class AnthropicMessages:
    """``POST {base}/v1/messages``, base URL without ``/v1`` (https://api.anthropic.com)."""

    name = "anthropic"
    path = "v1/messages"

    def __init__(self, version: str = "2023-06-01") -> None:
        self.version = version

    def headers(self, api_key: str) -> dict[str, str]:
        """``x-api-key`` and ``anthropic-version``."""
        headers = {"anthropic-version": self.version}
        if api_key:
            headers["x-api-key"] = api_key
        return headers

    def body(
        self,
        *,
        model: str,
        system: str,
        messages: Sequence[Message],
        max_tokens: int,
        temperature: float,
    ) -> dict[str, Any]:
        """The system prompt is a top-level field; ``max_tokens`` is required."""
        body: dict[str, Any] = {
            "model": model,
            "max_tokens": max_tokens,
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "temperature": temperature,
        }
        if system:
            body["system"] = system
        return body

    def parse(self, data: Any) -> Completion:
        """The text blocks of ``content`` and ``usage.input/output_tokens``."""
        if not isinstance(data, dict) or not isinstance(data.get("content"), list):
            raise ProtocolError("no content list in the answer")
        text = "".join(
            block.get("text", "")
            for block in data["content"]
            if isinstance(block, dict) and block.get("type") == "text"
        )
        usage = data.get("usage")
        input_tokens = usage.get("input_tokens") if isinstance(usage, dict) else None
        output_tokens = usage.get("output_tokens") if isinstance(usage, dict) else None
        estimated = not (isinstance(input_tokens, int) and isinstance(output_tokens, int))
        return Completion(
            text=text,
            input_tokens=input_tokens if isinstance(input_tokens, int) else 0,
            output_tokens=output_tokens if isinstance(output_tokens, int) else _estimated(text),
            truncated=data.get("stop_reason") == "max_tokens",
            usage_estimated=estimated,
        )


def protocol_for(provider: str, *, anthropic_version: str = "2023-06-01") -> WireProtocol:
    """The protocol of ``provider`` (``openai`` or ``anthropic``)."""
    if provider == "anthropic":
        return AnthropicMessages(anthropic_version)
    if provider == "openai":
        return OpenAIChat()
    raise ValueError(f"unknown LLM provider {provider!r}")
