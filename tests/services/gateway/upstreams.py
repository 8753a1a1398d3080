"""Stand-ins for services behind the gateway: in process, or served by a real uvicorn."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from tests.helpers import eventually
from tests.runtime.processes import free_port


def echo_asgi(service: str) -> ASGIApp:
    """A raw ASGI app that answers with its service name and what it received."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = json.dumps(
            {
                "service": service,
                "path": scope["path"],
                "client": list(scope["client"]) if scope.get("client") else None,
                "scheme": scope["scheme"],
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})

    return app


class EchoService:
    """A real HTTP service: echoes requests, streams on demand, reports health."""

    def __init__(self, service: str = "codegen") -> None:
        self.service = service
        self.release_stream = asyncio.Event()
        self.app = Starlette(
            routes=[
                Route("/health", self._health),
                Route("/api/v1/codegen/stream", self._stream),
                Route("/api/v1/codegen/cookies", self._cookies),
                Route("/api/v1/codegen/slow", self._slow),
                Route("/{path:path}", self._echo, methods=["GET", "POST", "PUT", "DELETE"]),
            ]
        )

    async def _health(self, _request: Request) -> JSONResponse:
        return JSONResponse(
            {
                "service": self.service,
                "status": "ok",
                "version": "9.9.9",
                "dependencies": {"database": {"status": "ok", "detail": "sqlite"}},
                "metrics": {"uptime_seconds": 1.0},
            }
        )

    async def _echo(self, request: Request) -> JSONResponse:
        body = await request.body()
        return JSONResponse(
            {
                "method": request.method,
                "path": request.url.path,
                "raw_path": request.scope["raw_path"].decode(),
                "query": request.url.query,
                "headers": [[k.decode(), v.decode()] for k, v in request.scope["headers"]],
                "body_length": len(body),
                "body_sha256": hashlib.sha256(body).hexdigest(),
            }
        )

    async def _stream(self, _request: Request) -> StreamingResponse:
        async def chunks() -> AsyncIterator[bytes]:
            yield b"data: first\n\n"
            # The test releases the rest only after it has read the first chunk,
            # which proves the gateway passes chunks on as they come.
            await self.release_stream.wait()
            yield b"data: second\n\n"

        return StreamingResponse(chunks(), media_type="text/event-stream")

    async def _cookies(self, _request: Request) -> Response:
        response = Response(b"ok", media_type="text/plain")
        response.raw_headers.extend(
            [
                (b"set-cookie", b"a=1; Path=/"),
                (b"set-cookie", b"b=2; Path=/"),
                (b"connection", b"x-hop"),
                (b"x-hop", b"must not pass"),
                (b"keep-alive", b"timeout=5"),
            ]
        )
        return response

    async def _slow(self, _request: Request) -> Response:
        await asyncio.sleep(30)
        return Response(b"too late")


@asynccontextmanager
async def serving(app: ASGIApp) -> AsyncIterator[str]:
    """Serve ``app`` with uvicorn on a free loopback port in this event loop."""
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="auto"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())

    def started() -> bool:
        if task.done():
            task.result()  # it failed to start: its error, now
            raise RuntimeError("uvicorn stopped before it started")
        return server.started

    await eventually(started, interval=0.01, what=f"uvicorn on port {port}")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@asynccontextmanager
async def silent_listener() -> AsyncIterator[str]:
    """A port that accepts connections and never answers (a hung service)."""
    connections: list[asyncio.StreamWriter] = []

    async def hold(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        for writer in connections:
            writer.close()
        server.close()
        await server.wait_closed()
