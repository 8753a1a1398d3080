"""httpx over the platform started in this process, handing responses over as they arrive.

httpx's own ``ASGITransport`` answers only once the app has finished, so a
run's event stream followed in process would show nothing until the run
ended. This transport runs the app in a task and yields each body chunk as
the app sends it; closing the response tells the app the client left.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
from starlette.types import ASGIApp, Message

_DONE: Message = {"type": "devgen.app.done"}
_LEAVE_SECONDS = 5.0


class _Body(httpx.AsyncByteStream):
    def __init__(
        self, messages: asyncio.Queue[Message], app: asyncio.Task[None], left: asyncio.Event
    ) -> None:
        self._messages = messages
        self._app = app
        self._left = left
        self._complete = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while True:
            message = await self._messages.get()
            if message["type"] != "http.response.body":
                raise httpx.ReadError("the in-process app stopped in the middle of its answer")
            if message.get("body"):
                yield bytes(message["body"])
            if not message.get("more_body", False):
                self._complete = True
                return

    async def aclose(self) -> None:
        # A whole answer: the app may still run its background tasks, which must finish.
        # A client that left early: the app is told, and stopped if it does not end soon.
        if not self._complete:
            self._left.set()
            await asyncio.wait({self._app}, timeout=_LEAVE_SECONDS)
            self._app.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._app


class StreamingASGITransport(httpx.AsyncBaseTransport):
    """Send requests to ``app`` in this process; stream its answers as they are written."""

    def __init__(self, app: ASGIApp, client: tuple[str, int] = ("127.0.0.1", 0)) -> None:
        self._app = app
        self._client = client

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Start the app on ``request``; return once it has sent the status and headers."""
        body = await request.aread()
        scope: dict[str, Any] = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": request.method,
            "headers": [(key.lower(), value) for key, value in request.headers.raw],
            "scheme": request.url.scheme,
            "path": request.url.path,
            "raw_path": request.url.raw_path.split(b"?")[0],
            "query_string": request.url.query,
            "server": (request.url.host, request.url.port),
            "client": self._client,
            "root_path": "",
        }
        messages: asyncio.Queue[Message] = asyncio.Queue()
        left = asyncio.Event()
        request_sent = False

        async def receive() -> Message:
            nonlocal request_sent
            if not request_sent:
                request_sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await left.wait()
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            await messages.put(message)

        async def call() -> None:
            try:
                await self._app(scope, receive, send)
            finally:
                await messages.put(_DONE)

        app = asyncio.create_task(call())
        start = await messages.get()
        if start["type"] != "http.response.start":
            with contextlib.suppress(Exception):
                await app
            return httpx.Response(500, request=request)
        return httpx.Response(
            start["status"],
            headers=start.get("headers", []),
            stream=_Body(messages, app, left),
            request=request,
        )
