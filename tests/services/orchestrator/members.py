"""Putting a second user into a tenant, through identity's HTTP API (an accepted invitation)."""

from __future__ import annotations

import httpx

from tests.helpers import Account, add_member, login, register


async def join(client: httpx.AsyncClient, owner: Account, role: str) -> Account:
    """A new account that is a ``role`` of ``owner``'s tenant, signed in to act there."""
    account = await register(client)
    await add_member(client, owner, account, role)
    tokens = await login(client, account.email, account.password, tenant_id=owner.tenant_id)
    account.tenant_id = owner.tenant_id
    account.access_token = tokens["access_token"]
    account.refresh_token = tokens["refresh_token"]
    return account
