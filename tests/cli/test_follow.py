"""``devgen generate --server`` follows the run's event stream, across a dropped stream.

Between the CLI and a real ``devgen up`` sits a proxy that breaks the first
event stream after two events and refuses the next one (503): the CLI must
read the run meanwhile, open the stream again after the last event it saw
(``Last-Event-ID``), and print every step exactly once.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import uvicorn

from devgen.cli.follow import parse_events
from tests.helpers import PASSWORD, eventually_sync, unique_email
from tests.runtime.processes import DevgenProcess, free_port, isolated_env
from tests.runtime.processes import devgen as devgen_process

SMALL = "A notebook app keeps notes. Each note has a title and a body."
_EVENT_ID = re.compile(rb"(?:^|\n)id: *(\d+)")


@dataclass
class StreamRequest:
    """One request for a run's event stream, as the proxy saw and answered it."""

    last_event_id: str | None
    answered: str
    position: int
    """Where the request is in the proxy's list of every request."""
    forwarded_ids: list[int] = field(default_factory=list)


class DroppingProxy:
    """An ASGI proxy to ``upstream``: the first event stream breaks, the second gets 503."""

    def __init__(self, upstream: str, *, events_before_drop: int = 2) -> None:
        self.upstream = upstream
        self.events_before_drop = events_before_drop
        self.streams: list[StreamRequest] = []
        self.requests: list[tuple[str, str]] = []

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        path = scope["path"]
        self.requests.append((scope["method"], path))
        headers = [(k.decode(), v.decode()) for k, v in scope["headers"] if k != b"host"]
        is_stream = path.endswith("/events")
        if is_stream:
            stream = StreamRequest(
                dict(headers).get("last-event-id"), "forwarded", len(self.requests) - 1
            )
            self.streams.append(stream)
            if len(self.streams) == 2:
                stream.answered = "refused"
                await send({"type": "http.response.start", "status": 503, "headers": []})
                await send({"type": "http.response.body", "body": b""})
                return
        async with httpx.AsyncClient(base_url=self.upstream, timeout=60) as client:
            request = client.build_request(
                scope["method"],
                path,
                params=scope["query_string"].decode(),
                headers=headers,
                content=body,
            )
            response = await client.send(request, stream=True)
            try:
                await send(
                    {
                        "type": "http.response.start",
                        "status": response.status_code,
                        "headers": [
                            (k.encode(), v.encode())
                            for k, v in response.headers.items()
                            if k not in {"content-length", "transfer-encoding"}
                        ],
                    }
                )
                async for chunk in response.aiter_raw():
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                    if is_stream and len(self.streams) == 1:
                        stream.forwarded_ids += [int(n) for n in _EVENT_ID.findall(chunk)]
                        if len(stream.forwarded_ids) >= self.events_before_drop:
                            stream.answered = "dropped"
                            raise ConnectionAbortedError("the proxy drops the first event stream")
                await send({"type": "http.response.body", "body": b""})
            finally:
                await response.aclose()


@contextmanager
def serving(app: DroppingProxy) -> Iterator[str]:
    """``app`` on a loopback port, served by uvicorn in a thread of its own."""
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, lifespan="off", log_config=None, access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        eventually_sync(lambda: server.started, until=bool, timeout=15, what="the proxy started")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevgenProcess]:
    """``devgen up``: the all-in-one platform in a process of its own."""
    workdir: Path = tmp_path_factory.mktemp("up")
    with devgen_process("up", env=isolated_env(workdir / "data"), workdir=workdir) as running:
        yield running


@pytest.mark.slow
def test_generate_follows_the_stream_across_a_drop(devgen, server, tmp_path):
    proxy = DroppingProxy(server.url)
    with serving(proxy) as url:
        email = unique_email()
        with httpx.Client(base_url=server.url, timeout=30) as client:
            registered = client.post(
                "/api/v1/auth/register", json={"email": email, "password": PASSWORD}
            )
            assert registered.status_code == 201, registered.text
        signed_in = devgen("login", "--server", url, "--email", email, "--password", PASSWORD)
        assert signed_in.exit_code == 0, signed_in.output

        result = devgen("generate", SMALL, "--server", url, "--out", str(tmp_path / "out"))

    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "report.json").is_file()
    step_lines = [line for line in result.stdout.splitlines() if line[:1] in {"✓", "✗", "-"}]
    names = [line.split()[1] for line in step_lines]
    assert {"analyze", "generate", "test", "package"} <= set(names), result.stdout
    assert len(names) == len(set(names)), result.stdout
    first, refused, resumed, *_ = proxy.streams
    assert first.last_event_id is None
    assert first.answered == "dropped"
    assert refused.answered == "refused"
    assert refused.last_event_id == resumed.last_event_id == str(max(first.forwarded_ids))
    between = proxy.requests[refused.position + 1 : resumed.position]
    assert any(
        method == "GET" and re.fullmatch(r"/api/v1/runs/[0-9a-f-]+", path)
        for method, path in between
    ), "the run was not read while its stream was away"


async def _lines(*lines: str):
    for line in lines:
        yield line


def test_the_stream_parser_yields_run_events_and_skips_notes_and_keepalives():
    lines = (
        ": ping",
        "id: 3",
        "event: orchestrator.step.started",
        'data: {"seq": 3, "type": "orchestrator.step.started", "step": "test"}',
        "",
        "event: orchestrator.stream.closed",
        'data: {"reason": "expired"}',
        "",
    )

    async def collect():
        return [event async for event in parse_events(_lines(*lines))]

    assert asyncio.run(collect()) == [
        {"seq": 3, "type": "orchestrator.step.started", "step": "test"}
    ]
