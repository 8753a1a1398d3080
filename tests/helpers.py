"""Small helpers of the tests: acting as users over the API, and waiting for an effect."""

from __future__ import annotations

import asyncio
import inspect
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from devgen.kit.auth.remote import VALIDATE_PATH
from devgen.kit.auth.service import SERVICE_TOKEN_PATH

PASSWORD = "correct horse battery staple"
TEST_SERVICE_SECRET = "test-service-secret-" + "0123456789abcdef" * 2
"""The platform's service secret in tests (the ``settings`` fixture sets it)."""


@dataclass
class Account:
    """A registered, signed-in user."""

    email: str
    password: str
    user_id: str
    tenant_id: str
    access_token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        """Authorization header with the access token."""
        return {"Authorization": f"Bearer {self.access_token}"}


def unique_email(prefix: str = "user") -> str:
    """An e-mail address no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.com"


async def register(
    client: httpx.AsyncClient, email: str | None = None, password: str = PASSWORD
) -> Account:
    """Register and sign in; fails the test if either step does not succeed."""
    email = email or unique_email()
    response = await client.post(
        "/api/v1/auth/register", json={"email": email, "password": password}
    )
    assert response.status_code == 201, response.text
    registered = response.json()["data"]
    tokens = await login(client, email, password)
    return Account(
        email=email,
        password=password,
        user_id=registered["user"]["id"],
        tenant_id=registered["tenant"]["id"],
        access_token=tokens["access_token"],
        refresh_token=tokens["refresh_token"],
    )


async def login(
    client: httpx.AsyncClient, email: str, password: str = PASSWORD, tenant_id: str | None = None
) -> dict[str, str]:
    """Sign in and return the token pair."""
    body = {"email": email, "password": password}
    if tenant_id:
        body["tenant_id"] = tenant_id
    response = await client.post("/api/v1/auth/login", json=body)
    assert response.status_code == 200, response.text
    data: dict[str, str] = response.json()["data"]
    return data


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict:
    """Assert an error envelope with ``status`` (and ``code``); return its body."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}, body
    assert {"code", "message", "details", "request_id"} <= set(body["error"]), body
    if code is not None:
        assert body["error"]["code"] == code, body
    return body["error"]


async def invite(
    client: httpx.AsyncClient, inviter: Account, email: str, role: str = "member"
) -> dict:
    """``inviter`` invites ``email`` into their current tenant; returns the invitation (202)."""
    response = await client.post(
        f"/api/v1/tenants/{inviter.tenant_id}/invitations",
        json={"email": email, "role": role},
        headers=inviter.headers,
    )
    assert response.status_code == 202, response.text
    invitation: dict = response.json()["data"]
    return invitation


async def add_member(
    client: httpx.AsyncClient, owner: Account, member: Account, role: str = "member"
) -> dict:
    """``member`` joins ``owner``'s current tenant with ``role``: invited, then accepted.

    Both steps go over HTTP as the people themselves, the only way into a
    tenant. Returns the accepted invitation.
    """
    invitation = await invite(client, owner, member.email, role)
    accepted = await client.post(
        f"/api/v1/invitations/{invitation['id']}/accept", headers=member.headers
    )
    assert accepted.status_code == 200, accepted.text
    data: dict = accepted.json()["data"]
    return data


def service_app_client(platform: Any, service: str) -> httpx.AsyncClient:
    """A client that calls ``service``'s app directly, as another service does (not the gateway).

    Internal endpoints (``/internal/...``) are reachable only this way.
    """
    app = platform.state.upstream_apps[service]
    transport = httpx.ASGITransport(app=app, client=("10.0.0.2", 40000))
    return httpx.AsyncClient(transport=transport, base_url=f"http://{service}.internal")


async def service_token(
    platform: Any,
    service: str = "audit",
    *,
    tenant_id: str | None = None,
    user_id: str | None = None,
    secret: str = TEST_SERVICE_SECRET,
) -> str:
    """A service token for ``service`` from identity's internal endpoint."""
    body: dict[str, str] = {"service": service, "secret": secret}
    if tenant_id is not None:
        body["tenant_id"] = tenant_id
    if user_id is not None:
        body["user_id"] = user_id
    async with service_app_client(platform, "identity") as identity:
        response = await identity.post(SERVICE_TOKEN_PATH, json=body)
    assert response.status_code == 200, response.text
    token: str = response.json()["data"]["access_token"]
    return token


async def introspect(platform: Any, token: str) -> httpx.Response:
    """Identity's answer about ``token``, asked as a service does (internal, service token)."""
    headers = {"Authorization": f"Bearer {await service_token(platform, 'test')}"}
    async with service_app_client(platform, "identity") as identity:
        return await identity.post(VALIDATE_PATH, json={"token": token}, headers=headers)


# Generous: a CI machine running two test workers, builds and a broker can be
# slow by whole seconds. A wait that succeeds returns as soon as it can, so
# only a failing test pays the full deadline.
EVENTUALLY_SECONDS = 20.0
EVENTUALLY_INTERVAL = 0.05

# Indirections so the helper's own test can see every pause it takes.
_pause = asyncio.sleep
_pause_sync = time.sleep


def _timed_out(what: str, timeout: float, last: object, error: BaseException | None) -> str:
    seen = f"last error: {error!r}" if error is not None else f"last value: {last!r}"
    return f"{what or 'condition'} not met within {timeout:g}s ({seen})"


async def eventually(
    probe: Callable[[], Any],
    *,
    until: Callable[[Any], object] = bool,
    timeout: float = EVENTUALLY_SECONDS,
    interval: float = EVENTUALLY_INTERVAL,
    ignoring: tuple[type[BaseException], ...] = (),
    what: str = "",
) -> Any:
    """Call ``probe()`` (awaiting what it returns, if awaitable) until ``until(value)`` holds.

    Returns that value. Fails the test with an ``AssertionError`` naming ``what``
    and the last value seen (or the last of the ``ignoring`` exceptions, which
    count as "not yet") once ``timeout`` seconds passed. Any other exception
    from ``probe`` propagates at once. Wait on the very condition the test
    asserts next, never on a step before it.
    """
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        error: BaseException | None = None
        try:
            last = probe()
            if inspect.isawaitable(last):
                last = await last
        except ignoring as exc:
            error = exc
        else:
            if until(last):
                return last
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(_timed_out(what, timeout, last, error))
        await _pause(min(interval, left))


def eventually_sync(
    probe: Callable[[], Any],
    *,
    until: Callable[[Any], object] = bool,
    timeout: float = EVENTUALLY_SECONDS,
    interval: float = EVENTUALLY_INTERVAL,
    ignoring: tuple[type[BaseException], ...] = (),
    what: str = "",
) -> Any:
    """:func:`eventually` for code without an event loop (starting processes, threads)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        error: BaseException | None = None
        try:
            last = probe()
        except ignoring as exc:
            error = exc
        else:
            if until(last):
                return last
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(_timed_out(what, timeout, last, error))
        _pause_sync(min(interval, left))
