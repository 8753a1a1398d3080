"""The two wire formats: OpenAI chat completions and Anthropic messages.

Each protocol turns a conversation into a request (path, headers, JSON body) and a
response back into a :class:`Completion`: a whole JSON body, or a stream of server-sent
events folded by a :class:`StreamReader`. Nothing here does I/O, so both are tested on
plain data.

What the protocols say about why the model stopped is mapped to one vocabulary
(:data:`Stop`): OpenAI's ``finish_reason`` (``stop``, ``length``, ``content_filter``,
``tool_calls``) and ``message.refusal``; Anthropic's ``stop_reason`` (``end_turn``,
``stop_sequence``, ``max_tokens``, ``tool_use``, ``refusal``, ``pause_turn``).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

Role = Literal["user", "assistant"]
# Why the answer ended: finished, cut at the output limit, declined by the model,
# withheld by the provider's content filter.
Stop = Literal["end", "length", "refusal", "filtered"]

# o1, o3-mini, o4-mini, gpt-5, gpt-5.1-codex... (also behind a prefix: "openai/o3").
_REASONING_MODEL = re.compile(r"(?:^|/)(?:o\d+(?:-[\w.-]+)?|gpt-5[\w.-]*)$", re.IGNORECASE)
STRUCTURED_TOOL = "answer"  # the one tool Anthropic is forced to call for structured output


def is_reasoning_model(model: str) -> bool:
    """Whether ``model`` is named like an OpenAI reasoning model (o-series, gpt-5 family)."""
    return bool(_REASONING_MODEL.search(model.strip()))


@dataclass(frozen=True)
class Message:
    """One turn of a conversation (the system prompt travels separately)."""

    role: Role
    content: str


@dataclass(frozen=True)
class Schema:
    """A JSON Schema the answer must follow, when the endpoint can enforce one."""

    name: str
    schema: dict[str, Any]
    description: str = ""


@dataclass(frozen=True)
class Completion:
    """What the model answered, and what it cost in tokens.

    ``text`` is the answer; a structured answer (a tool call's input, a ``json_schema``
    reply) is its JSON text, so every reader takes the same input. ``refusal`` holds the
    model's words when it declined (OpenAI's ``message.refusal``).
    """

    text: str
    input_tokens: int
    output_tokens: int
    stop: Stop = "end"
    usage_estimated: bool = False  # the server reported no usage; counted from the text
    reasoning_tokens: int = 0  # part of output_tokens (OpenAI counts them in completion_tokens)
    refusal: str = ""
    structured: bool = False  # the text came through the endpoint's structured output

    @property
    def truncated(self) -> bool:
        """Stopped because it reached the output token limit."""
        return self.stop == "length"


class ProtocolError(Exception):
    """A 2xx answer whose body is not what the protocol says it is."""


class StreamError(Exception):
    """The provider reported an error inside a stream it had started (e.g. overloaded)."""


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
        stream: bool = False,
        schema: Schema | None = None,
        reasoning: bool = False,
    ) -> dict[str, Any]:
        """The JSON request body."""
        ...

    def parse(self, data: Any) -> Completion:
        """The completion in a response body; :class:`ProtocolError` when it has none."""
        ...

    def stream_reader(self) -> StreamReader:
        """A fresh reader for one streamed answer."""
        ...


def _estimated(text: str) -> int:
    return max(1, math.ceil(len(text) / 4))


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


_OPENAI_STOPS: dict[str, Stop] = {"length": "length", "content_filter": "filtered"}
_ANTHROPIC_STOPS: dict[str, Stop] = {
    "max_tokens": "length",
    "refusal": "refusal",
    # The context window filled up: as far as the answer goes, it was cut off.
    "model_context_window_exceeded": "length",
}


@dataclass
class StreamReader:
    """Folds the data of server-sent events into a :class:`Completion`.

    ``feed(event, data)`` takes each event (``data`` is the JSON-decoded payload, or the
    raw string when it is not JSON) and returns the text it added; ``done`` says the
    stream ended properly; ``completion()`` is what arrived so far (also after a cut).
    """

    protocol: str
    text: list[str] = field(default_factory=list)
    refusal: list[str] = field(default_factory=list)
    finish: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    reasoning_tokens: int = 0
    structured: bool = False
    done: bool = False
    final_usage: bool = False  # the stream's closing usage arrived (not only message_start's)

    @property
    def chars(self) -> int:
        """Characters of answer received."""
        return sum(map(len, self.text))

    def feed(self, event: str, data: Any) -> str:
        """Add one event; returns the text delta it carried."""
        if self.protocol == "anthropic":
            return self._anthropic(event, data)
        return self._openai(data)

    def _openai(self, data: Any) -> str:
        if data == "[DONE]":
            self.done = True
            return ""
        if not isinstance(data, dict):
            raise ProtocolError("a stream chunk is not a JSON object")
        if isinstance(data.get("error"), dict):
            raise StreamError(str(data["error"].get("message", "error in the stream")))
        usage = data.get("usage")
        if isinstance(usage, dict):  # the last chunk, with stream_options.include_usage
            self.input_tokens = _int(usage.get("prompt_tokens"))
            self.output_tokens = _int(usage.get("completion_tokens"))
            self.final_usage = self.output_tokens is not None
            details = usage.get("completion_tokens_details")
            if isinstance(details, dict):
                self.reasoning_tokens = _int(details.get("reasoning_tokens")) or 0
        added = ""
        for choice in data.get("choices") or []:
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            if isinstance(delta.get("content"), str):
                added += delta["content"]
            if isinstance(delta.get("refusal"), str):
                self.refusal.append(delta["refusal"])
            if choice.get("finish_reason"):
                self.finish = str(choice["finish_reason"])
        if added:
            self.text.append(added)
        return added

    def _anthropic(self, event: str, data: Any) -> str:
        kind = data.get("type", event) if isinstance(data, dict) else event
        if not isinstance(data, dict):
            raise ProtocolError(f"the {event or 'stream'} event is not a JSON object")
        if kind == "error":
            error = data.get("error") or {}
            raise StreamError(f"{error.get('type', 'error')}: {error.get('message', '')}")
        if kind == "message_start":
            usage = (data.get("message") or {}).get("usage") or {}
            self.input_tokens = _int(usage.get("input_tokens"))
            self.output_tokens = _int(usage.get("output_tokens"))
        elif kind == "content_block_start":
            block = data.get("content_block") or {}
            if block.get("type") == "tool_use" and block.get("name") == STRUCTURED_TOOL:
                self.structured = True
        elif kind == "content_block_delta":
            delta = data.get("delta") or {}
            piece = ""
            if delta.get("type") == "text_delta" and not self.structured:
                piece = str(delta.get("text", ""))
            elif delta.get("type") == "input_json_delta" and self.structured:
                piece = str(delta.get("partial_json", ""))
            if piece:
                self.text.append(piece)
            return piece
        elif kind == "message_delta":
            delta = data.get("delta") or {}
            if delta.get("stop_reason"):
                self.finish = str(delta["stop_reason"])
            usage = data.get("usage") or {}
            # message_delta's usage is cumulative: it replaces message_start's counts.
            if (tokens := _int(usage.get("output_tokens"))) is not None:
                self.output_tokens, self.final_usage = tokens, True
            if (tokens := _int(usage.get("input_tokens"))) is not None:
                self.input_tokens = tokens
        elif kind == "message_stop":
            self.done = True
        return ""

    def completion(self) -> Completion:
        """What the stream delivered, with its usage (estimated where none arrived)."""
        text = "".join(self.text)
        stops = _ANTHROPIC_STOPS if self.protocol == "anthropic" else _OPENAI_STOPS
        stop: Stop = stops.get(self.finish or "", "end")
        refusal = "".join(self.refusal)
        if refusal:
            stop = "refusal"
        estimated = self.input_tokens is None or not self.final_usage
        output = self.output_tokens or 0
        if not self.final_usage:
            # Cut before the closing usage (message_start says 1): count what arrived.
            output = max(output, _estimated(text) if text else 0)
        return Completion(
            text=text,
            input_tokens=self.input_tokens or 0,
            output_tokens=max(output, self.reasoning_tokens),
            stop=stop,
            usage_estimated=estimated,
            reasoning_tokens=self.reasoning_tokens,
            refusal=refusal,
            structured=self.structured,
        )


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
        stream: bool = False,
        schema: Schema | None = None,
        reasoning: bool = False,
    ) -> dict[str, Any]:
        """The system prompt is the first message.

        Reasoning models take ``max_completion_tokens`` (visible and reasoning tokens)
        and refuse ``max_tokens`` and any ``temperature`` but the default.
        """
        turns = [{"role": "system", "content": system}] if system else []
        turns += [{"role": m.role, "content": m.content} for m in messages]
        body: dict[str, Any] = {"model": model, "messages": turns}
        if reasoning:
            body["max_completion_tokens"] = max_tokens
        else:
            body["max_tokens"] = max_tokens
            body["temperature"] = temperature
        body["stream"] = stream
        if stream:
            body["stream_options"] = {"include_usage": True}
        if schema is not None:
            json_schema: dict[str, Any] = {"name": schema.name, "schema": schema.schema}
            if schema.description:
                json_schema["description"] = schema.description
            # strict needs every property required and no additionalProperties: our
            # schemas have defaults, so the model is guided, and the answer validated here.
            json_schema["strict"] = False
            body["response_format"] = {"type": "json_schema", "json_schema": json_schema}
        return body

    def parse(self, data: Any) -> Completion:
        """``choices[0].message.content`` (or ``.refusal``) and ``usage``."""
        try:
            choice = data["choices"][0]
            message = choice["message"]
            content = message.get("content")
        except (KeyError, IndexError, TypeError, AttributeError) as exc:
            raise ProtocolError("no choices[0].message in the answer") from exc
        text = content if isinstance(content, str) else ""
        refusal = message.get("refusal")
        refusal = refusal if isinstance(refusal, str) else ""
        usage = data.get("usage") if isinstance(data, dict) else None
        usage = usage if isinstance(usage, dict) else {}
        prompt = _int(usage.get("prompt_tokens"))
        completion = _int(usage.get("completion_tokens"))
        details = usage.get("completion_tokens_details")
        reasoning = _int(details.get("reasoning_tokens")) if isinstance(details, dict) else None
        stop: Stop = _OPENAI_STOPS.get(str(choice.get("finish_reason")), "end")
        if refusal:
            stop = "refusal"
        return Completion(
            text=text,
            input_tokens=prompt if prompt is not None else 0,
            output_tokens=completion if completion is not None else _estimated(text),
            stop=stop,
            usage_estimated=prompt is None or completion is None,
            reasoning_tokens=reasoning or 0,
            refusal=refusal,
        )

    def stream_reader(self) -> StreamReader:
        """A reader of ``chat.completion.chunk`` events ending with ``data: [DONE]``."""
        return StreamReader("openai")


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
        stream: bool = False,
        schema: Schema | None = None,
        reasoning: bool = False,
    ) -> dict[str, Any]:
        """The system prompt is a top-level field; ``max_tokens`` is required.

        Structured output is one tool the model is forced to call, whose input schema is
        the wanted answer's.
        """
        body: dict[str, Any] = {
            "model": model,
            "max_tokens": max_tokens,
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "temperature": temperature,
        }
        if system:
            body["system"] = system
        if stream:
            body["stream"] = True
        if schema is not None:
            body["tools"] = [
                {
                    "name": STRUCTURED_TOOL,
                    "description": schema.description or f"Give the {schema.name}.",
                    "input_schema": schema.schema,
                }
            ]
            body["tool_choice"] = {"type": "tool", "name": STRUCTURED_TOOL}
        return body

    def parse(self, data: Any) -> Completion:
        """The text blocks of ``content`` (or the forced tool's input) and ``usage``."""
        if not isinstance(data, dict) or not isinstance(data.get("content"), list):
            raise ProtocolError("no content list in the answer")
        blocks = [b for b in data["content"] if isinstance(b, dict)]
        tool = next(
            (b for b in blocks if b.get("type") == "tool_use" and b.get("name") == STRUCTURED_TOOL),
            None,
        )
        if tool is not None:
            text, structured = json.dumps(tool.get("input")), True
        else:
            text = "".join(b.get("text", "") for b in blocks if b.get("type") == "text")
            structured = False
        usage = data.get("usage")
        usage = usage if isinstance(usage, dict) else {}
        input_tokens = _int(usage.get("input_tokens"))
        output_tokens = _int(usage.get("output_tokens"))
        return Completion(
            text=text,
            input_tokens=input_tokens if input_tokens is not None else 0,
            output_tokens=output_tokens if output_tokens is not None else _estimated(text),
            stop=_ANTHROPIC_STOPS.get(str(data.get("stop_reason")), "end"),
            usage_estimated=input_tokens is None or output_tokens is None,
            structured=structured,
        )

    def stream_reader(self) -> StreamReader:
        """A reader of ``message_start`` ... ``message_stop`` events."""
        return StreamReader("anthropic")


def protocol_for(provider: str, *, anthropic_version: str = "2023-06-01") -> WireProtocol:
    """The protocol of ``provider`` (``openai`` or ``anthropic``)."""
    if provider == "anthropic":
        return AnthropicMessages(anthropic_version)
    if provider == "openai":
        return OpenAIChat()
    raise ValueError(f"unknown LLM provider {provider!r}")
