"""``devgen login``, ``whoami`` and ``logout``: the CLI as a client of a running server."""

from __future__ import annotations

from typing import Annotated, Any

import httpx
import typer
from rich.table import Table

from devgen.cli import credentials
from devgen.cli.credentials import StoredLogin
from devgen.cli.output import fail, out

DEFAULT_SERVER = "http://127.0.0.1:8000"
_TIMEOUT_SECONDS = 15.0
# What the gateway (or identity) answers while identity or its database is down.
_OUTAGE = frozenset({502, 503, 504})

Server = Annotated[
    str | None,
    typer.Option(
        help=f"Base URL of the devgen gateway (default: the last one used, else {DEFAULT_SERVER})."
    ),
]


def _message(response: httpx.Response) -> str:
    try:
        return str(response.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return f"HTTP {response.status_code}"


def _call(
    server: str, method: str, path: str, *, token: str | None = None, body: Any = None
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with httpx.Client(base_url=server, timeout=_TIMEOUT_SECONDS) as client:
            return client.request(method, path, json=body, headers=headers)
    except httpx.HTTPError as exc:
        fail(f"cannot reach {server}: {type(exc).__name__}: {exc}")


def _stored(server: str | None) -> StoredLogin:
    stored = credentials.load(server)
    if stored is None:
        where = f" at {server}" if server else ""
        fail(f"not signed in{where}; run `devgen login` first")
    return stored


def login(
    # Optional to click, so the help does not call them required: both are asked for.
    email: Annotated[
        str | None,
        typer.Option(prompt=True, help="Your account's e-mail address (asked for when not given)."),
    ] = None,
    password: Annotated[
        str | None, typer.Option(prompt=True, hide_input=True, help="Asked for when not given.")
    ] = None,
    server: Server = None,
) -> None:
    """Sign in to a devgen server and keep the tokens for the other commands."""
    previous = credentials.load(None)
    base = credentials.normalise_server(server or (previous.server if previous else DEFAULT_SERVER))
    response = _call(
        base, "POST", "/api/v1/auth/login", body={"email": email, "password": password}
    )
    if response.status_code in _OUTAGE:
        fail(
            f"identity is unreachable through {base} (HTTP {response.status_code}: "
            f"{_message(response)}); nothing was signed in, try again once it is back"
        )
    if response.status_code != 200:
        fail(f"sign-in refused: {_message(response)}")
    assert email is not None  # prompted for when not given
    tokens = response.json()["data"]
    path = credentials.save(
        StoredLogin(
            server=base,
            email=email,
            access_token=tokens["access_token"],
            refresh_token=tokens["refresh_token"],
        )
    )
    out.print(f"Signed in to {base} as [bold]{email}[/]; tokens kept in {path}")


def _refreshed(stored: StoredLogin) -> StoredLogin | None:
    response = _call(
        stored.server,
        "POST",
        "/api/v1/auth/refresh",
        body={"refresh_token": stored.refresh_token},
    )
    if response.status_code != 200:
        return None
    tokens = response.json()["data"]
    renewed = StoredLogin(
        server=stored.server,
        email=stored.email,
        access_token=tokens["access_token"],
        refresh_token=tokens["refresh_token"],
    )
    credentials.save(renewed)
    return renewed


def whoami(server: Server = None) -> None:
    """Show the account, workspace and role the stored session acts as."""
    stored = _stored(server)
    response = _call(stored.server, "GET", "/api/v1/auth/me", token=stored.access_token)
    if response.status_code == 401 and (renewed := _refreshed(stored)) is not None:
        # Access tokens live minutes; the refresh token keeps the CLI signed in.
        response = _call(stored.server, "GET", "/api/v1/auth/me", token=renewed.access_token)
    if response.status_code == 401:
        fail(f"the session at {stored.server} has ended; run `devgen login` again")
    if response.status_code != 200:
        fail(_message(response))
    me = response.json()["data"]
    table = Table(show_header=False, box=None)
    table.add_row("server", stored.server)
    table.add_row("email", me["user"]["email"])
    table.add_row("user id", me["user"]["id"])
    table.add_row("workspace", f"{me['tenant']['name']} ({me['tenant']['id']})")
    table.add_row("role", me.get("role") or "-")
    table.add_row("scopes", " ".join(me.get("scopes", [])))
    table.add_row("platform admin", "yes" if me.get("platform_admin") else "no")
    out.print(table)


def logout(server: Server = None) -> None:
    """End the stored session at the server and forget its tokens."""
    stored = _stored(server)
    response = _call(
        stored.server, "POST", "/api/v1/auth/logout", token=stored.access_token, body={}
    )
    credentials.forget(stored.server)
    if response.status_code not in {204, 401}:
        fail(f"the server answered: {_message(response)}; the local tokens are gone anyway")
    out.print(f"Signed out of {stored.server}")
