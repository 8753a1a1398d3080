"""The stand-in server: a raw ASGI app speaking both protocols, served by uvicorn in a thread.

A thread (with its own event loop) rather than a task in the test's loop, so synchronous
callers (the benchmark, plain tests) can use it as well as async ones, and a test that
blocks its loop cannot stall the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import math
import re
import socket
import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import pytest
import uvicorn
from starlette.types import Receive, Scope, Send

from tests.helpers import eventually_sync
from tests.llm_standin.replies import Reply

ANTHROPIC_VERSION = "2023-06-01"
Responder = Callable[["RecordedRequest"], Reply]
# How the endpoint treats structured output: answers in it (OpenAI, Anthropic, recent
# vLLM/Ollama), rejects the parameter with a 400, or ignores it and answers in text.
Structured = Literal["native", "reject", "ignore"]
_REASONING_MODEL = re.compile(r"(?:^|/)(?:o\d+(?:-[\w.-]+)?|gpt-5[\w.-]*)$", re.IGNORECASE)
_STALL_LIMIT_SECONDS = 60.0  # a stalled answer waits at most this for the client to leave


@dataclass(frozen=True)
class RecordedRequest:
    """One request the stand-in received: which protocol, its headers and JSON body."""

    protocol: str  # "openai" or "anthropic"
    path: str
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The conversation sent (without Anthropic's separate system prompt)."""
        messages: list[dict[str, Any]] = self.body.get("messages", [])
        return messages

    @property
    def system(self) -> str:
        """The system prompt, wherever the protocol puts it."""
        if self.protocol == "anthropic":
            return str(self.body.get("system", ""))
        return "\n".join(m["content"] for m in self.messages if m.get("role") == "system")

    @property
    def last_user(self) -> str:
        """The text of the last user message."""
        users = [m for m in self.messages if m.get("role") == "user"]
        return str(users[-1]["content"]) if users else ""

    @property
    def prompt(self) -> str:
        """Everything the model was sent, as one text."""
        return "\n".join([self.system, *(str(m.get("content", "")) for m in self.messages)])


class LLMStandIn:
    """A scriptable OpenAI- and Anthropic-compatible server on a real loopback port.

    Answers come from the queue filled by :meth:`script`; once it is empty, from the
    function given to :meth:`respond_with`; with neither, a 500 saying the script ran out
    (so a test that sends one request too many fails visibly).
    """

    def __init__(
        self,
        *,
        api_key: str = "test-key",
        model: str = "stand-in-model",
        structured: Structured = "native",
        prefill: bool = False,
    ) -> None:
        self.api_key = api_key
        self.model = model
        self.structured = structured
        # Anthropic's newer models refuse a conversation ending with the assistant's turn.
        self.prefill = prefill
        self.requests: list[RecordedRequest] = []
        self._queue: deque[Reply] = deque()
        self._responder: Responder | None = None
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def openai_base_url(self) -> str:
        """What an OpenAI client takes as its base URL (with ``/v1``)."""
        return f"{self.url}/v1"

    @property
    def anthropic_base_url(self) -> str:
        """What an Anthropic client takes as its base URL (without ``/v1``)."""
        return self.url

    @property
    def count(self) -> int:
        """How many requests arrived (including refused ones)."""
        with self._lock:
            return len(self.requests)

    def script(self, *replies: Reply) -> None:
        """Queue answers, one per coming request, in order."""
        with self._lock:
            self._queue.extend(replies)

    def respond_with(self, responder: Responder | None) -> None:
        """Answer with ``responder(request)`` once the queue is empty."""
        self._responder = responder

    def replay(self, recording: Responder) -> None:
        """Answer from a recorded conversation (see :mod:`tests.llm_standin.recorded`)."""
        self.respond_with(recording)

    def reset(self) -> None:
        """Forget the script and the recorded requests."""
        with self._lock:
            self._queue.clear()
            self.requests.clear()
        self._responder = None

    @property
    def pending(self) -> int:
        """Queued answers not used yet."""
        with self._lock:
            return len(self._queue)

    def start(self) -> LLMStandIn:
        """Serve on a free loopback port; returns once the server accepts connections."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self._app,
            log_config=None,
            access_log=False,
            lifespan="off",
            interface="asgi3",
            ws="none",
            http="h11",
            timeout_graceful_shutdown=1,
        )
        # uvicorn installs signal handlers only on the main thread, so none are taken here.
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self._server.serve(sockets=[sock])),  # type: ignore[union-attr]
            name=f"llm-standin-{self.port}",
            daemon=True,
        )
        self._thread.start()
        server, thread = self._server, self._thread

        def started() -> bool:
            if not thread.is_alive():
                raise RuntimeError("the LLM stand-in stopped before it started")
            return server.started

        eventually_sync(started, interval=0.005, what="the LLM stand-in to start")
        return self

    def stop(self) -> None:
        """Stop serving and wait for the thread."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> LLMStandIn:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    async def _app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        raw = b""
        while True:
            message = await receive()
            raw += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        path = scope["path"]
        protocol = {"/v1/chat/completions": "openai", "/v1/messages": "anthropic"}.get(path)
        if scope["method"] != "POST" or protocol is None:
            await _send_json(send, 404, {"error": {"message": f"no route {path}"}})
            return
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            body = {}
        request = RecordedRequest(protocol, path, headers, body if isinstance(body, dict) else {})
        with self._lock:
            self.requests.append(request)
        refusal = self._check(request, raw)
        if refusal is not None:
            status, error = refusal
            await _send_json(send, status, _error_body(protocol, status, error))
            return
        reply = self._next_reply(request)
        await self._answer(send, receive, request, reply)

    def _check(self, request: RecordedRequest, raw: bytes) -> tuple[int, str] | None:
        """The refusal a real server would give this request, if any."""
        headers, body = request.headers, request.body
        if request.protocol == "openai":
            if headers.get("authorization") != f"Bearer {self.api_key}":
                return 401, "Incorrect API key provided."
        else:
            if headers.get("x-api-key") != self.api_key:
                return 401, "invalid x-api-key"
            if not headers.get("anthropic-version"):
                return 400, "anthropic-version: header is required"
        try:
            json.loads(raw)
        except json.JSONDecodeError:
            return 400, "the body is not valid JSON"
        if not isinstance(body.get("model"), str) or not body["model"]:
            return 400, "model: field required"
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return 400, "messages: at least one message is required"
        roles = {"user", "assistant"} | ({"system"} if request.protocol == "openai" else set())
        for index, message in enumerate(messages):
            if not isinstance(message, dict) or message.get("role") not in roles:
                return 400, f"messages.{index}.role: unexpected role"
            if not isinstance(message.get("content"), str):
                return 400, f"messages.{index}.content: must be a string"
        if request.protocol == "anthropic":
            if not isinstance(body.get("max_tokens"), int) or body["max_tokens"] < 1:
                return 400, "max_tokens: field required"
            if messages[0]["role"] != "user":
                return 400, "messages: first message must use the user role"
            if any(a["role"] == b["role"] for a, b in itertools.pairwise(messages)):
                return 400, "messages: roles must alternate between user and assistant"
            if messages[-1]["role"] == "assistant" and not self.prefill:
                return 400, (
                    "This model does not support assistant message prefill. "
                    "The conversation must end with a user message."
                )
            if any(not m["content"] for m in messages):
                return 400, "messages: text content blocks must be non-empty"
            if "tools" in body or "tool_choice" in body:
                if self.structured == "reject":
                    return 400, "tools: Extra inputs are not permitted"
                names = {t.get("name") for t in body.get("tools") or [] if isinstance(t, dict)}
                choice = body.get("tool_choice") or {}
                if choice.get("type") == "tool" and choice.get("name") not in names:
                    return 400, "tool_choice: the named tool is not in tools"
        else:
            if _REASONING_MODEL.search(str(body.get("model", ""))):
                if "max_tokens" in body:
                    return 400, (
                        "Unsupported parameter: 'max_tokens' is not supported with this "
                        "model. Use 'max_completion_tokens' instead."
                    )
                if body.get("temperature", 1) != 1:
                    return 400, (
                        f"Unsupported value: 'temperature' does not support "
                        f"{body['temperature']} with this model. Only the default (1) value "
                        "is supported."
                    )
            if "response_format" in body and self.structured == "reject":
                return 400, "Unknown parameter: 'response_format'."
        return None

    def _next_reply(self, request: RecordedRequest) -> Reply:
        with self._lock:
            if self._queue:
                return self._queue.popleft()
        if self._responder is not None:
            return self._responder(request)
        return Reply(kind="error", status=500, text="the stand-in's script ran out of answers")

    async def _answer(
        self, send: Send, receive: Receive, request: RecordedRequest, reply: Reply
    ) -> None:
        if reply.kind == "error":
            await _send_json(
                send,
                reply.status,
                _error_body(request.protocol, reply.status, reply.text),
                reply.headers,
            )
            return
        if reply.kind == "malformed":
            await _send_raw(send, 200, b'{"id": "chatcmpl-1", "choices": [{"mess')
            return
        answer = self._shape(request, reply)
        number = next(self._ids)
        if request.body.get("stream") is True:
            await self._stream(send, receive, request, reply, answer, number)
            return
        if reply.stall_after is not None:
            await _wait_for_disconnect(receive)
            return
        if request.protocol == "openai":
            payload = _openai_completion(number, request.body["model"], answer)
        else:
            payload = _anthropic_message(number, request.body["model"], answer)
        data = json.dumps(payload).encode()
        if reply.kind == "truncated":
            await _send_raw(send, 200, data[: len(data) // 2], len_override=len(data))
            return
        await _send_raw(send, 200, data)

    def _shape(self, request: RecordedRequest, reply: Reply) -> _Answer:
        """What the answer is once the request's limits and output form are applied."""
        body = request.body
        text, finish, tool = reply.text, reply.finish, False
        if reply.data is not None and self.structured == "native":
            if request.protocol == "openai" and (body.get("response_format") or {}).get("type") in {
                "json_schema",
                "json_object",
            }:
                text = json.dumps(reply.data)
            elif (
                request.protocol == "anthropic"
                and (body.get("tool_choice") or {}).get("type") == "tool"
            ):
                text, tool = json.dumps(reply.data), True
        limit = _max_tokens(body)
        if limit is not None and _tokens(text) > limit:
            text, finish = text[: limit * 4], "length"
        usage = reply.usage or (_tokens(request.prompt), _tokens(text) + reply.reasoning_tokens)
        if limit is not None and usage[1] > limit:
            # A real server never reports more output than it was allowed to write.
            usage, finish = (usage[0], limit), "length"
        return _Answer(
            text=text,
            finish=finish,
            usage=usage,
            reasoning_tokens=reply.reasoning_tokens,
            tool_name=str((body.get("tool_choice") or {}).get("name")) if tool else None,
        )

    async def _stream(
        self,
        send: Send,
        receive: Receive,
        request: RecordedRequest,
        reply: Reply,
        answer: _Answer,
        number: int,
    ) -> None:
        """The answer as server-sent events, in ``reply.chunk_chars`` deltas."""
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"text/event-stream; charset=utf-8"),
                    (b"cache-control", b"no-cache"),
                ],
            }
        )
        size = max(reply.chunk_chars, 1)
        pieces = [answer.text[i : i + size] for i in range(0, len(answer.text), size)] or [""]
        model = request.body["model"]
        if request.protocol == "openai":
            opening, deltas, closing = _openai_events(number, model, request.body, answer, pieces)
        else:
            opening, deltas, closing = _anthropic_events(number, model, answer, pieces)
        for event in opening:
            await _send_event(send, event)
        for index, event in enumerate(deltas):
            if reply.stall_after is not None and index == reply.stall_after:
                await _stall(send, receive, request.protocol, reply.keepalive_seconds)
                return
            if reply.error_after is not None and index == reply.error_after:
                await _send_event(send, _stream_error(request.protocol))
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                return
            if reply.cut_after is not None and index == reply.cut_after:
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                return
            await _send_event(send, event)
        for event in closing:
            await _send_event(send, event)
        await send({"type": "http.response.body", "body": b"", "more_body": False})


@dataclass(frozen=True)
class _Answer:
    text: str
    finish: str
    usage: tuple[int, int]
    reasoning_tokens: int = 0
    tool_name: str | None = None  # set: the text is the input of this (forced) tool call


def _stream_error(protocol: str) -> tuple[str | None, Any]:
    if protocol == "anthropic":
        error = {"type": "overloaded_error", "message": "Overloaded"}
        return "error", {"type": "error", "error": error}
    error = {"message": "The server is overloaded.", "type": "server_error", "code": None}
    return None, {"error": error}


async def _stall(
    send: Send, receive: Receive, protocol: str, keepalive_seconds: float | None
) -> None:
    """Send nothing but keep-alives (Anthropic ``ping`` events, OpenAI-style SSE comments)
    until the client gives up."""

    async def beat(interval: float) -> None:
        try:
            while True:
                await asyncio.sleep(interval)
                if protocol == "anthropic":
                    await _send_event(send, ("ping", {"type": "ping"}))
                else:
                    await send(
                        {
                            "type": "http.response.body",
                            "body": b": keep-alive\n\n",
                            "more_body": True,
                        }
                    )
        except OSError:  # the client left (uvicorn: ClientDisconnected): nothing to keep alive
            return

    beating = asyncio.create_task(beat(keepalive_seconds)) if keepalive_seconds else None
    try:
        await _wait_for_disconnect(receive)
    finally:
        if beating is not None:
            beating.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beating


async def _wait_for_disconnect(receive: Receive) -> None:
    """Hold the answer back until the client gives up (or a minute passes)."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(_STALL_LIMIT_SECONDS):
            while (await receive())["type"] != "http.disconnect":
                pass


async def _send_event(send: Send, event: tuple[str | None, Any]) -> None:
    name, data = event
    text = data if isinstance(data, str) else json.dumps(data)
    frame = (f"event: {name}\n" if name else "") + f"data: {text}\n\n"
    await send({"type": "http.response.body", "body": frame.encode(), "more_body": True})


_OPENAI_FINISH = {"stop": "stop", "length": "length", "content_filter": "content_filter"}
_ANTHROPIC_STOP = {
    "stop": "end_turn",
    "length": "max_tokens",
    "refusal": "refusal",
    "content_filter": "refusal",
}

Events = list[tuple[str | None, Any]]


def _openai_events(
    number: int, model: str, body: dict[str, Any], answer: _Answer, pieces: list[str]
) -> tuple[Events, Events, Events]:
    with_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    base = {
        "id": f"chatcmpl-standin{number}",
        "object": "chat.completion.chunk",
        "created": 1_700_000_000 + number,
        "model": model,
        "system_fingerprint": "fp_standin",
    }

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {
            **base,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        if with_usage:
            data["usage"] = None  # every chunk but the last carries a null usage
        return data

    field = "refusal" if answer.finish == "refusal" else "content"
    opening: Events = [(None, chunk({"role": "assistant", "content": "", "refusal": None}))]
    deltas: Events = [(None, chunk({field: piece})) for piece in pieces if piece]
    closing: Events = [(None, chunk({}, _OPENAI_FINISH.get(answer.finish, "stop")))]
    if with_usage:
        closing.append((None, {**base, "choices": [], "usage": _openai_usage(answer)}))
    closing.append((None, "[DONE]"))
    return opening, deltas, closing


def _anthropic_events(
    number: int, model: str, answer: _Answer, pieces: list[str]
) -> tuple[Events, Events, Events]:
    message = {
        "id": f"msg_standin{number:08d}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": answer.usage[0], "output_tokens": 1},
    }
    if answer.tool_name:
        block = {"type": "tool_use", "id": f"toolu_standin{number}", "name": answer.tool_name}
        block["input"] = {}
        delta_type, key = "input_json_delta", "partial_json"
    else:
        block, delta_type, key = {"type": "text", "text": ""}, "text_delta", "text"
    opening: Events = [
        ("message_start", {"type": "message_start", "message": message}),
        (
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": block},
        ),
        ("ping", {"type": "ping"}),
    ]
    deltas: Events = [
        (
            "content_block_delta",
            {"type": "content_block_delta", "index": 0, "delta": {"type": delta_type, key: piece}},
        )
        for piece in pieces
        if piece
    ]
    stop = "tool_use" if answer.tool_name else _ANTHROPIC_STOP.get(answer.finish, "end_turn")
    closing: Events = [
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop, "stop_sequence": None},
                "usage": {"output_tokens": answer.usage[1]},
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    ]
    return opening, deltas, closing


def _tokens(text: str) -> int:
    return max(1, math.ceil(len(text) / 4))


def _max_tokens(body: dict[str, Any]) -> int | None:
    for key in ("max_tokens", "max_completion_tokens"):
        value = body.get(key)
        if isinstance(value, int) and value > 0:
            return value
    return None


def _openai_usage(answer: _Answer) -> dict[str, Any]:
    usage: dict[str, Any] = {
        "prompt_tokens": answer.usage[0],
        "completion_tokens": answer.usage[1],
        "total_tokens": answer.usage[0] + answer.usage[1],
    }
    if answer.reasoning_tokens:
        usage["completion_tokens_details"] = {"reasoning_tokens": answer.reasoning_tokens}
    return usage


def _openai_completion(number: int, model: str, answer: _Answer) -> dict[str, Any]:
    refused = answer.finish == "refusal"
    return {
        "id": f"chatcmpl-standin{number}",
        "object": "chat.completion",
        "created": 1_700_000_000 + number,
        "model": model,
        "system_fingerprint": "fp_standin",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": None if refused else answer.text,
                    "refusal": answer.text if refused else None,
                },
                "logprobs": None,
                "finish_reason": _OPENAI_FINISH.get(answer.finish, "stop"),
            }
        ],
        "usage": _openai_usage(answer),
    }


def _anthropic_message(number: int, model: str, answer: _Answer) -> dict[str, Any]:
    if answer.tool_name:
        content: list[dict[str, Any]] = [
            {
                "type": "tool_use",
                "id": f"toolu_standin{number}",
                "name": answer.tool_name,
                "input": json.loads(answer.text),
            }
        ]
        stop = "tool_use"
    else:
        content = [{"type": "text", "text": answer.text}] if answer.text else []
        stop = _ANTHROPIC_STOP.get(answer.finish, "end_turn")
    return {
        "id": f"msg_standin{number:08d}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": {"input_tokens": answer.usage[0], "output_tokens": answer.usage[1]},
    }


_ANTHROPIC_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
    529: "overloaded_error",
}
_OPENAI_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    429: "requests",
}


def _error_body(protocol: str, status: int, message: str) -> dict[str, Any]:
    if protocol == "anthropic":
        kind = _ANTHROPIC_ERROR_TYPES.get(status, "api_error")
        return {"type": "error", "error": {"type": kind, "message": message}}
    kind = _OPENAI_ERROR_TYPES.get(status, "server_error")
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}


async def _send_json(
    send: Send, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> None:
    await _send_raw(send, status, json.dumps(body).encode(), headers=headers)


async def _send_raw(
    send: Send,
    status: int,
    data: bytes,
    *,
    len_override: int | None = None,
    headers: dict[str, str] | None = None,
) -> None:
    length = len(data) if len_override is None else len_override
    raw_headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(length).encode()),
        *((k.encode(), v.encode()) for k, v in (headers or {}).items()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": data, "more_body": False})


def configure_codegen(
    monkeypatch: pytest.MonkeyPatch, server: LLMStandIn, extra: Mapping[str, str] | None = None
) -> None:
    """Point codegen's ``DEVGEN_LLM_*`` settings (read when a platform starts) at ``server``.

    OpenAI's protocol, the stand-in's key and model, retries without waiting; ``extra``
    adds or overrides settings.
    """
    settings = {
        "DEVGEN_LLM_PROVIDER": "openai",
        "DEVGEN_LLM_BASE_URL": server.openai_base_url,
        "DEVGEN_LLM_API_KEY": server.api_key,
        "DEVGEN_LLM_MODEL": server.model,
        "DEVGEN_LLM_BACKOFF_SECONDS": "0.01",
        **(extra or {}),
    }
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
