"""Run an ASGI app under uvicorn with the logging and proxy settings devgen wants."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from devgen.kit.logging import configure_logging
from devgen.kit.settings import CoreSettings
from devgen.runtime.failures import StartupFailed, describe

Announce = Callable[[list[tuple[str, int]]], None]
"""Told the (host, port) pairs the server listens on, once it accepts connections."""

_GRACEFUL_SHUTDOWN_SECONDS = 10


def configure_server_logging(core: CoreSettings) -> None:
    """JSON (or console) logs for a server process, at ``DEVGEN_LOG_LEVEL``."""
    configure_logging(core.log_level, core.log_format)
    # httpx logs every call at INFO; the chassis' access log already has each one.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, logging.getLogger().level))


class _StartupWatch:
    """Remembers why the app's start-up failed, and keeps the traceback out of the log.

    Starlette reports a failed lifespan with the whole traceback as the
    message, which uvicorn logs as one enormous line. The cause is kept here
    instead, for ``run_server`` to raise as one sentence.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.failure: BaseException | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return

        async def quiet_send(message: Message) -> None:
            if message["type"] == "lifespan.startup.failed":
                message = {"type": "lifespan.startup.failed", "message": ""}
            await send(message)

        try:
            await self.app(scope, receive, quiet_send)
        except BaseException as exc:
            self.failure = exc
            raise


class _AnnouncingServer(uvicorn.Server):
    """A uvicorn server that reports where it listens once start-up has finished."""

    def __init__(self, config: uvicorn.Config, announce: Announce) -> None:
        super().__init__(config)
        self._announce = announce

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            bound = [sock.getsockname()[:2] for server in self.servers for sock in server.sockets]
            self._announce([(str(host), int(port)) for host, port in bound])


def run_server(
    app: ASGIApp,
    *,
    host: str,
    port: int,
    announce: Announce,
    forwarded_allow: Sequence[str] = (),
    tls: Mapping[str, Any] | None = None,
) -> None:
    """Serve ``app`` until interrupted; raise ``StartupFailed`` when it cannot start.

    ``forwarded_allow`` lists the proxies whose ``X-Forwarded-For`` uvicorn
    may apply to the client address; empty turns that off entirely (uvicorn
    would otherwise trust 127.0.0.1 by default). The gateway passes nothing:
    it resolves client addresses itself, against ``DEVGEN_TRUSTED_PROXIES``.
    ``tls`` are uvicorn's ``ssl_*`` options (``devgen.kit.tls.server_options``).
    """
    watched = _StartupWatch(app)
    config = uvicorn.Config(
        watched,
        host=host,
        port=port,
        log_config=None,  # keep devgen's JSON logging
        access_log=False,  # the chassis writes its own access log, with the request id
        server_header=False,
        proxy_headers=bool(forwarded_allow),
        forwarded_allow_ips=list(forwarded_allow) or None,
        lifespan="on",
        timeout_graceful_shutdown=_GRACEFUL_SHUTDOWN_SECONDS,
        **dict(tls or {}),
    )
    server = _AnnouncingServer(config, announce)
    try:
        server.run()
    except SystemExit:
        # uvicorn exits (status 3) when start-up fails: the app's lifespan raised,
        # or the address could not be bound (uvicorn has logged the OS error).
        if watched.failure is not None:
            raise StartupFailed(describe(watched.failure)) from None
        if not server.started:
            raise StartupFailed(
                f"could not listen on {host}:{port}; is another process using the port?"
            ) from None
        raise
