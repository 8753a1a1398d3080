"""``devgen runs``: list, show, cancel and follow runs; and how client commands reach a platform.

Every client command here (and ``generate``, ``artifacts``) talks to the
platform through its HTTP API: a running server (``--server URL``, with
the session ``devgen login`` stored), or, without ``--server``, the
platform started inside this process on ``DEVGEN_DATA_DIR``, signed in as
a local user created on first use.
"""

from __future__ import annotations

import json
import os
import secrets
import stat
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from devgen.cli import credentials
from devgen.cli.output import err, fail, load_settings, out, run

app = typer.Typer(help="Runs of the main job: list, show, cancel, follow.", no_args_is_help=True)

LOCAL_EMAIL = "local@devgen.example"
LOCAL_USER_FILE = "cli-local-user.json"
_TIMEOUT = httpx.Timeout(60.0, connect=10.0)
TERMINAL = frozenset({"succeeded", "failed", "cancelled"})
_ICONS = {
    "succeeded": "[green]✓[/]",
    "failed": "[red]✗[/]",
    "cancelled": "[yellow]⊘[/]",
    "skipped": "[dim]-[/]",
    "running": "[cyan]…[/]",
    "retrying": "[yellow]↻[/]",
    "pending": "[dim]·[/]",
}

Server = Annotated[
    str | None,
    typer.Option(
        help="Base URL of a running devgen gateway (sign in with `devgen login` first). "
        "Without it, the platform runs inside this command on DEVGEN_DATA_DIR."
    ),
]


def error_message(response: httpx.Response) -> str:
    """The message of an error envelope (or the status)."""
    try:
        return str(response.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return f"HTTP {response.status_code}"


@dataclass
class Platform:
    """An HTTP client for the platform, signed in, wherever it runs."""

    http: httpx.AsyncClient
    where: str
    stored: credentials.StoredLogin | None = None
    token: str = ""

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request with the session's token; a stale access token is refreshed once."""
        response = await self._send(method, path, **kwargs)
        if response.status_code == 401 and self.stored is not None and await self._refresh():
            response = await self._send(method, path, **kwargs)
        return response

    async def data(
        self, method: str, path: str, *, expect: Iterable[int] = (200,), **kwargs: Any
    ) -> Any:
        """The ``data`` of a successful answer; any error ends the command with its message."""
        response = await self.request(method, path, **kwargs)
        if response.status_code not in set(expect):
            fail(f"{method} {path}: {error_message(response)}")
        return response.json().get("data") if response.content else None

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        try:
            return await self.http.request(method, path, headers=headers, **kwargs)
        except httpx.HTTPError as exc:
            fail(f"cannot reach {self.where}: {type(exc).__name__}: {exc}")

    async def _refresh(self) -> bool:
        assert self.stored is not None
        response = await self.http.post(
            "/api/v1/auth/refresh", json={"refresh_token": self.stored.refresh_token}
        )
        if response.status_code != 200:
            fail(f"the session at {self.where} has ended; run `devgen login` again")
        tokens = response.json()["data"]
        self.stored = credentials.StoredLogin(
            server=self.stored.server,
            email=self.stored.email,
            access_token=tokens["access_token"],
            refresh_token=tokens["refresh_token"],
        )
        credentials.save(self.stored)
        self.token = self.stored.access_token
        return True


def _local_user(data_dir: Path) -> tuple[dict[str, str], bool]:
    path = data_dir / LOCAL_USER_FILE
    if path.exists():
        return json.loads(path.read_text()), False
    data_dir.mkdir(parents=True, exist_ok=True)
    account = {"email": LOCAL_EMAIL, "password": secrets.token_urlsafe(24)}
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, stat.S_IRUSR | stat.S_IWUSR)
    with os.fdopen(descriptor, "w") as handle:
        json.dump(account, handle)
    return account, True


async def _sign_in_locally(http: httpx.AsyncClient, data_dir: Path, quiet: bool) -> str:
    account, created = _local_user(data_dir)
    if created:
        registered = await http.post("/api/v1/auth/register", json=account)
        if registered.status_code != 201:
            fail(f"could not create the local user {account['email']}: {error_message(registered)}")
    response = await http.post("/api/v1/auth/login", json=account)
    if response.status_code != 200:
        fail(
            f"the local user {account['email']} could not sign in ({error_message(response)}); "
            f"its password is in {data_dir / LOCAL_USER_FILE}"
        )
    if not quiet:
        note = "created now" if created else "created earlier"
        err.print(
            f"[dim]Acting as the local user {account['email']} ({note}; its password is in "
            f"{escape(str(data_dir / LOCAL_USER_FILE))}).[/]",
            highlight=False,
        )
    return str(response.json()["data"]["access_token"])


@asynccontextmanager
async def connect(
    server: str | None, *, run_steps: bool = False, quiet: bool = False
) -> AsyncIterator[Platform]:
    """A signed-in client for ``server``, or for the platform started in this process.

    In process, ``run_steps`` decides whether this process also runs the
    steps of runs (``generate``) or only answers (the other commands).
    """
    if server is not None:
        stored = credentials.load(server)
        base = credentials.normalise_server(server)
        if stored is None:
            fail(f"not signed in at {base}; run `devgen login --server {base}` first")
        async with httpx.AsyncClient(base_url=base, timeout=_TIMEOUT) as http:
            yield Platform(http, base, stored, stored.access_token)
        return
    from devgen.kit.logging import configure_logging
    from devgen.runtime.allinone import build_platform

    settings = load_settings()
    # The platform's own logs would drown the progress; problems still show.
    configure_logging("WARNING", "console")
    os.environ["DEVGEN_ORCHESTRATOR_ENGINE_ENABLED"] = "true" if run_steps else "false"
    try:
        platform = build_platform(settings)
    except ValueError as exc:
        fail(str(exc), code=2)
    from devgen.cli.streaming import StreamingASGITransport

    # Streaming, so that a run's events show as they happen (httpx's ASGITransport
    # hands a response over only once it has ended).
    transport = StreamingASGITransport(platform, client=("127.0.0.1", 0))
    async with (
        platform.router.lifespan_context(platform),
        httpx.AsyncClient(
            transport=transport, base_url="http://devgen.local", timeout=_TIMEOUT
        ) as http,
    ):
        token = await _sign_in_locally(http, settings.core.data_dir, quiet)
        yield Platform(http, f"the platform in {settings.core.data_dir}", None, token)


def _seconds(value: float | None) -> str:
    return f"{value:.1f}s" if value is not None else "-"


def tests_line(tests: dict[str, Any] | None) -> str:
    """``51 passed, 0 failed, 0 errors, 0 skipped; coverage 99.3%``."""
    if not tests:
        return "no tests ran"
    coverage = tests.get("coverage_percent")
    return (
        f"{tests.get('passed', 0)} passed, {tests.get('failed', 0)} failed, "
        f"{tests.get('error', 0)} errors, {tests.get('skipped', 0)} skipped"
        + (f"; coverage {coverage:.1f}%" if isinstance(coverage, int | float) else "")
    )


def step_line(step: dict[str, Any]) -> str:
    """One step as a line: icon, name, state, time, and why when it failed or skipped."""
    icon = _ICONS.get(step["state"], "")
    why = ""
    if step.get("error"):
        why = f" — {escape(step['error'].get('message', ''))}"
    attempts = f" (attempt {step['attempt']})" if step["attempt"] > 1 else ""
    return (
        f"{icon} {step['step']:<10} {step['state']:<10} "
        f"{_seconds(step.get('duration_seconds')):>7}{attempts}{why}"
    )


def print_run(run: dict[str, Any]) -> None:
    """A run in full: its state, steps, tests, usage, artifact and error."""
    out.print(
        f"Run [bold]{run['id']}[/] — {run['state']} (workflow {run['workflow']}, "
        f"engine {run['engine']}, {_seconds(run.get('duration_seconds'))})"
    )
    if run.get("requirement_excerpt"):
        out.print(f"  {escape(run['requirement_excerpt'])}", highlight=False)
    for step in [*run["steps"], *run.get("compensations", [])]:
        out.print("  " + step_line(step), highlight=False)
    out.print(f"  tests: {tests_line(run.get('tests'))}")
    usage = run.get("usage") or {}
    if usage.get("total_tokens"):
        out.print(f"  tokens: {usage['total_tokens']}, cost ${usage.get('cost_usd', 0):.4f}")
    if run.get("artifact_id"):
        out.print(
            f"  artifact: {run['artifact_id']} (devgen artifacts download {run['artifact_id']})"
        )
    if run.get("error"):
        out.print(
            f"  [red]error[/] {escape(run['error'].get('code', ''))}: "
            f"{escape(run['error'].get('message', ''))}",
            highlight=False,
        )


@app.command("list")
def list_runs(
    server: Server = None,
    state: Annotated[str | None, typer.Option(help="Only runs in this state.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100, help="How many, newest first.")] = 20,
) -> None:
    """Your runs, newest first."""

    async def work() -> list[dict[str, Any]]:
        async with connect(server, quiet=True) as platform:
            params: dict[str, Any] = {"limit": limit}
            if state:
                params["state"] = state
            found: list[dict[str, Any]] = await platform.data("GET", "/api/v1/runs", params=params)
            return found

    runs = run(work())
    # Ids are whole and on one line, whatever the terminal's width, so they can be
    # copied into `devgen runs show`; the other columns wrap or shorten instead.
    table = Table(title="Runs", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("id", no_wrap=True, min_width=36)
    table.add_column("state", no_wrap=True)
    table.add_column("created", min_width=10)
    table.add_column("seconds", justify="right", no_wrap=True)
    table.add_column("tests", no_wrap=True)
    table.add_column("requirement", ratio=1, overflow="fold")
    for item in runs:
        tests = item.get("tests") or {}
        table.add_row(
            item["id"],
            item["state"],
            item["created_at"][:19].replace("T", " "),
            _seconds(item.get("duration_seconds")),
            f"{tests.get('passed', '-')}/{tests.get('total', '-')}" if tests else "-",
            escape(item.get("requirement_excerpt") or "")[:60],
        )
    out.print(table)


@app.command()
def show(
    run_id: Annotated[str, typer.Argument(help="The run's id.")],
    server: Server = None,
) -> None:
    """One run: its steps with state and time, tests, tokens and cost, artifact, error."""

    async def work() -> dict[str, Any]:
        async with connect(server, quiet=True) as platform:
            found: dict[str, Any] = await platform.data("GET", f"/api/v1/runs/{run_id}")
            return found

    print_run(run(work()))


@app.command()
def cancel(
    run_id: Annotated[str, typer.Argument(help="The run's id.")],
    server: Server = None,
) -> None:
    """Cancel a run: its running step (and sandbox run) stops; what it stored is removed."""

    async def work() -> dict[str, Any]:
        async with connect(server, quiet=True) as platform:
            found: dict[str, Any] = await platform.data(
                "POST", f"/api/v1/runs/{run_id}/cancel", expect=(202,)
            )
            return found

    cancelled = run(work())
    state = "cancelled" if cancelled["state"] == "cancelled" else "stopping"
    out.print(f"Run {cancelled['id']} is {state}.")


def _event_line(event: dict[str, Any]) -> str:
    data = event.get("data") or {}
    detail = ""
    if "error" in data:
        detail = f" — {data['error'].get('code')}: {data['error'].get('message')}"
    elif "message" in data:
        detail = f" — {data['message']}"
    elif "duration_seconds" in data:
        detail = f" ({data['duration_seconds']}s)"
    step = f" {event['step']}" if event.get("step") else ""
    return f"{event['seq']:>4} {event['created_at'][11:23]} {event['type']}{step}{detail}"


@app.command()
def logs(
    run_id: Annotated[str, typer.Argument(help="The run's id.")],
    server: Server = None,
    follow: Annotated[bool, typer.Option(help="Keep following until the run ends.")] = False,
    after: Annotated[int, typer.Option(min=0, help="Only events after this number.")] = 0,
) -> None:
    """The run's event log: every transition (and progress note), in order."""

    async def work() -> None:
        async with connect(server, quiet=True) as platform:
            await platform.data("GET", f"/api/v1/runs/{run_id}")  # 404 early; fresh token
            params: dict[str, str | int] = {"follow": str(follow).lower(), "after": after}
            headers = {"Authorization": f"Bearer {platform.token}", "Accept": "text/event-stream"}
            async with platform.http.stream(
                "GET",
                f"/api/v1/runs/{run_id}/events",
                params=params,
                headers=headers,
                timeout=httpx.Timeout(None, connect=10.0),
            ) as response:
                if response.status_code != 200:
                    await response.aread()
                    fail(error_message(response))
                async for line in response.aiter_lines():
                    if line.startswith("data: "):
                        out.print(_event_line(json.loads(line[6:])), highlight=False)

    run(work())
